// Package process runs a service binary's main loop: until SIGINT or
// SIGTERM, with its logger in the context, exiting non-zero on failure.
package process

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferrycd/ferry/pkg/logging"
)

// Run calls run with a context that ends on SIGINT or SIGTERM and
// carries log, and exits with status 1 when run fails. A run that ends
// because the signal cancelled it (context.Canceled, e.g. Ctrl-C during
// start-up) is a clean stop.
func Run(log *slog.Logger, failure string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(logging.Into(ctx, log))
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error(failure, "error", err)
		os.Exit(1)
	}
}
