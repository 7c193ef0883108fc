// Command ferry-render turns push events into desired state: it fetches the
// pushed commit, keeps the app registry from ferry.yaml, renders every app
// that follows the pushed branch and publishes one DesiredState per app and
// cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/process"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/render/renderer"
)

// config is everything the command line sets.
type config struct {
	nats   natsconn.Options
	log    logging.Options
	render renderer.Options
}

func main() {
	var cfg config
	fs := flag.NewFlagSet("ferry-render", flag.ExitOnError)
	cfg.nats.BindFlags(fs)
	cfg.log.BindFlags(fs)
	cfg.render.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	process.Run(logging.Stderr(cfg.log), "ferry-render failed", func(ctx context.Context) error { return run(ctx, cfg) })
}

// run connects to NATS, ensures the streams and renders until ctx is done.
func run(ctx context.Context, cfg config) error {
	nc, js, err := natsconn.Connect(ctx, "ferry-render", cfg.nats)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	// Spans go to FERRY_TRACES (ferry trace) and to OTLP when configured;
	// they are flushed before the connection drains.
	shutdown, err := telemetry.Setup(ctx, "ferry-render", telemetry.NATSSpans(nc, "ferry-render", ""))
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()
	// Render's identity is the one that may create and update streams
	// (pkg/natsauth); the other services wait for them.
	if err := stream.EnsureRetry(ctx, js, stream.DefaultOptions()); err != nil {
		return err
	}
	return renderer.Run(ctx, js, cfg.render)
}
