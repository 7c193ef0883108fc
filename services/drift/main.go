// Command drift consumes Ferry's sync results and drift events, alerts
// Slack once per incident and sets commit statuses on the Git host.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/process"
	"github.com/ferrycd/ferry/pkg/subject"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/drift/alerter"
	"github.com/ferrycd/ferry/services/drift/config"
)

func main() {
	var (
		logOpts    logging.Options
		natsOpts   natsconn.Options
		configPath string
	)
	fs := flag.NewFlagSet("drift", flag.ExitOnError)
	logOpts.BindFlags(fs)
	natsOpts.BindFlags(fs)
	fs.StringVar(&configPath, "config", os.Getenv(config.EnvConfig),
		"alert routing and commit status config (YAML); empty logs only (env "+config.EnvConfig+")")
	_ = fs.Parse(os.Args[1:])
	process.Run(logging.Stderr(logOpts), "drift stopped", func(ctx context.Context) error { return run(ctx, natsOpts, configPath) })
}

func run(ctx context.Context, natsOpts natsconn.Options, configPath string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	nc, js, err := natsconn.Connect(ctx, "ferry-drift", natsOpts)
	if err != nil {
		return err
	}
	defer nc.Drain()
	// Spans go to FERRY_TRACES (ferry trace) and to OTLP when configured;
	// they are flushed before the connection drains.
	shutdown, err := telemetry.Setup(ctx, "ferry-drift", telemetry.NATSSpans(nc, "ferry-drift", ""))
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(context.Background()) }()
	// Render's identity sets the streams up; drift's creates only its own buckets.
	if err := natsconn.WaitForSetup(ctx, js, []string{subject.StreamStatus, subject.StreamDrift, subject.StreamDesired}, nil); err != nil {
		return fmt.Errorf("set up streams: %w", err)
	}
	return alerter.Run(ctx, js, alerter.Options{Config: cfg})
}
