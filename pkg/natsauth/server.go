package natsauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ferrycd/ferry/pkg/natsserver"
)

// Start starts a JetStream-enabled nats-server like natsserver.Start that
// accepts only the users of set, and waits until it accepts connections.
func Start(opts natsserver.Options, set *Set) (*server.Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsauth: store dir is required")
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	so := &server.Options{
		ServerName: opts.Name, Host: opts.Host, Port: opts.Port,
		JetStream: true, StoreDir: opts.StoreDir, NoSigs: true, NoLog: true,
	}
	if err := set.Configure(so); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("create nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("nats server not ready after 10s")
	}
	return srv, nil
}
