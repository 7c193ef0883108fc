// Command dashboard serves Ferry's web dashboard: every app in every
// cluster, live as events arrive, read from NATS JetStream and KV; with
// an operator token, buttons that sync, roll back, suspend and resume.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/process"
	"github.com/ferrycd/ferry/services/dashboard/web"
)

func main() {
	var (
		natsOpts natsconn.Options
		logOpts  logging.Options
		opts     = web.DefaultOptions()
	)
	fs := flag.NewFlagSet("dashboard", flag.ExitOnError)
	natsOpts.BindFlags(fs)
	logOpts.BindFlags(fs)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])

	log := logging.Stderr(logOpts).With("service", "dashboard")
	process.Run(log, "dashboard failed", func(ctx context.Context) error { return run(ctx, natsOpts, opts) })
}

// run connects to NATS and serves the dashboard until ctx is done.
func run(ctx context.Context, natsOpts natsconn.Options, opts web.Options) error {
	log := logging.From(ctx)
	if err := opts.LoadToken(); err != nil {
		return err
	}
	nc, _, err := natsconn.Connect(ctx, "ferry-dashboard", natsOpts)
	if err != nil {
		return err
	}
	defer func() {
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			log.Warn("drain nats", "error", err)
		}
	}()
	fc, err := fleet.NewClient(nc)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (use --dashboard-addr): %w", opts.Addr, err)
	}
	return web.Run(ctx, fc, ln, opts)
}
