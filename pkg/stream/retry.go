package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
)

// EnsureRetry is Ensure retried every two seconds until it succeeds or ctx
// ends, so a service may start before its NATS server does.
func EnsureRetry(ctx context.Context, js jetstream.JetStream, opts Options) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := Ensure(actx, js, opts)
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
