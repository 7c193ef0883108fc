// Package natsconn connects a Ferry service to NATS with the options every
// service shares: URL and credentials from flags or the environment,
// reconnecting forever, and logging of connection state changes.
package natsconn

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
)

// Options says where and as whom to connect.
type Options struct {
	// URL of the NATS server(s), comma separated.
	URL string
	// CredsFile is a NATS .creds file; optional.
	CredsFile string
}

// BindFlags registers --nats-url and --nats-creds, defaulting to NATS_URL
// and NATS_CREDS from the environment.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "nats-url", envOr("NATS_URL", nats.DefaultURL), "NATS server URL(s), comma separated")
	fs.StringVar(&o.CredsFile, "nats-creds", os.Getenv("NATS_CREDS"), "NATS credentials file")
}

// Connect dials NATS as name and returns the connection and its JetStream
// context. The connection retries the first dial and reconnects forever, so
// a NATS restart pauses a service instead of killing it.
func Connect(ctx context.Context, name string, o Options, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	log := logging.From(ctx)
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	url := o.URL
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// NkeySeed returns the options that connect with the nkey seed in path
// (pkg/natsauth writes them) and, when inboxPrefix is set, use it for
// reply subjects, as a worker's restricted permissions require.
func NkeySeed(path, inboxPrefix string) ([]nats.Option, error) {
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("nkey seed %s: %w", path, err)
	}
	opts := []nats.Option{opt}
	if inboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(inboxPrefix))
	}
	return opts, nil
}
