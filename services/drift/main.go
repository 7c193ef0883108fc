// Command drift consumes Ferry's sync results and drift events and alerts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/drift/alerter"
)

func main() {
	var (
		logOpts  logging.Options
		natsOpts natsconn.Options
	)
	fs := flag.NewFlagSet("drift", flag.ExitOnError)
	logOpts.BindFlags(fs)
	natsOpts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])
	log := logging.Stderr(logOpts)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(logging.Into(ctx, log), natsOpts); err != nil {
		log.Error("drift stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, natsOpts natsconn.Options) error {
	shutdown, err := telemetry.Setup(ctx, "ferry-drift")
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(context.Background()) }()
	nc, js, err := natsconn.Connect(ctx, "ferry-drift", natsOpts)
	if err != nil {
		return err
	}
	defer nc.Drain()
	if err := stream.Ensure(ctx, js, stream.DefaultOptions()); err != nil {
		return fmt.Errorf("set up streams: %w", err)
	}
	return alerter.Run(ctx, js, alerter.Options{})
}
