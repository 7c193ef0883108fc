package dev

import (
	"context"
	"fmt"
	"net"

	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/services/dashboard/web"
)

// dashboard is the quickstart's running web dashboard.
type dashboard struct {
	URL       string
	Token     string
	TokenFile string
	stop      context.CancelFunc
	done      chan error
}

// startDashboard serves the dashboard on o.DashboardAddr over nc, with
// the operator token from --operator-token or, by default, one generated
// once and kept in the state directory, so a new user can click sync and
// rollback right away.
func startDashboard(ctx context.Context, o Options, nc *nats.Conn) (*dashboard, error) {
	d := &dashboard{TokenFile: o.path("operator-token")}
	token := o.OperatorToken
	if token == "" {
		var err error
		if token, err = ensureSecret(d.TokenFile); err != nil {
			return nil, fmt.Errorf("operator token: %w", err)
		}
	} else {
		d.TokenFile = ""
	}
	fc, err := fleet.NewClient(nc)
	if err != nil {
		return nil, err
	}
	opts := web.DefaultOptions()
	opts.OperatorToken = token
	d.Token = token
	srv, err := web.New(fc, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.DashboardAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for the dashboard on %s (use --dashboard-addr): %w", o.DashboardAddr, err)
	}
	d.URL = "http://" + ln.Addr().String()
	var dctx context.Context
	dctx, d.stop = context.WithCancel(logging.With(context.WithoutCancel(ctx), "service", "dashboard"))
	d.done = make(chan error, 1)
	go func() { d.done <- srv.Run(dctx, ln) }()
	return d, nil
}

// Stop shuts the dashboard down and returns why it stopped, if not cleanly.
func (d *dashboard) Stop() error {
	d.stop()
	return <-d.done
}

// tokenNote prints the operator token and where it is kept, for the banner.
func (d *dashboard) tokenNote() string {
	if d.TokenFile == "" {
		return "operator token " + d.Token + ", from --operator-token"
	}
	return "operator token " + d.Token + ", kept in " + d.TokenFile
}
