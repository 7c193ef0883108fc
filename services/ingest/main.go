// Command ingest receives push webhooks from Git hosts, verifies them and
// publishes them on JetStream (stream FERRY_GIT) for render.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/ingest/webhook"
)

func main() {
	var (
		natsURL string
		logOpts logging.Options
		opts    = webhook.DefaultOptions()
	)
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	fs.StringVar(&natsURL, "nats-url", envOr("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL (env NATS_URL)")
	logOpts.BindFlags(fs)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	log := logging.Stderr(logOpts)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logging.Into(ctx, log.With("service", "ingest"))
	if err := run(ctx, natsURL, opts); err != nil {
		log.Error("ingest failed", "error", err)
		os.Exit(1)
	}
}

// run wires telemetry, NATS and the streams, then serves webhooks until ctx is done.
func run(ctx context.Context, natsURL string, opts webhook.Options) error {
	log := logging.From(ctx)
	shutdown, err := telemetry.Setup(ctx, "ferry-ingest")
	if err != nil {
		return fmt.Errorf("set up telemetry: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("flush traces", "error", err)
		}
	}()

	nc, err := nats.Connect(natsURL, nats.Name("ferry-ingest"), nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true), nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", "error", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }))
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", natsURL, err)
	}
	defer func() {
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			log.Warn("drain nats", "error", err)
		}
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if err := ensureStreams(ctx, js); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	return webhook.Run(ctx, js, ln, opts)
}

// ensureStreams retries stream.Ensure until NATS answers or ctx is done,
// so ingest may start before the NATS server.
func ensureStreams(ctx context.Context, js jetstream.JetStream) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := stream.Ensure(actx, js, stream.DefaultOptions())
		cancel()
		if err == nil {
			return nil
		}
		logging.From(ctx).Warn("streams not ready, retrying", "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("ensure streams: %w", err)
		case <-time.After(2 * time.Second):
		}
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
