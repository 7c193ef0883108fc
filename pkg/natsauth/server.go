package natsauth

import (
	"github.com/nats-io/nats-server/v2/server"

	"github.com/ferrycd/ferry/pkg/natsserver"
)

// Start starts a JetStream-enabled nats-server like natsserver.Start that
// accepts only the users of set, and waits until it accepts connections.
func Start(opts natsserver.Options, set *Set) (*server.Server, error) {
	opts.Configure = set.Configure
	return natsserver.Start(opts)
}
