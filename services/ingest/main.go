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
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/process"
	"github.com/ferrycd/ferry/pkg/subject"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/ingest/webhook"
)

func main() {
	var (
		natsOpts natsconn.Options
		logOpts  logging.Options
		opts     = webhook.DefaultOptions()
	)
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	natsOpts.BindFlags(fs)
	logOpts.BindFlags(fs)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	log := logging.Stderr(logOpts).With("service", "ingest")
	process.Run(log, "ingest failed", func(ctx context.Context) error { return run(ctx, natsOpts, opts) })
}

// run wires telemetry, NATS and the streams, then serves webhooks until ctx is done.
func run(ctx context.Context, natsOpts natsconn.Options, opts webhook.Options) error {
	log := logging.From(ctx)
	nc, js, err := natsconn.Connect(ctx, "ferry-ingest", natsOpts)
	if err != nil {
		return err
	}
	defer func() {
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			log.Warn("drain nats", "error", err)
		}
	}()
	// Spans go to FERRY_TRACES (ferry trace) and to OTLP when configured;
	// they are flushed before the connection drains.
	shutdown, err := telemetry.Setup(ctx, "ferry-ingest", telemetry.NATSSpans(nc, "ferry-ingest", ""))
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
	// Render's identity sets the streams up; ingest's may only publish.
	if err := natsconn.WaitForSetup(ctx, js, []string{subject.StreamGit}, nil); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	return webhook.Run(ctx, js, ln, opts)
}
