package natsconn

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
)

// setupPoll is how often WaitForSetup looks again.
const setupPoll = 2 * time.Second

// WaitForSetup returns once every stream and KV bucket named exists,
// looking every two seconds, or ctx's error. Only render's identity may
// create streams (pkg/natsauth); the other services wait for it.
func WaitForSetup(ctx context.Context, js jetstream.JetStream, streams, buckets []string) error {
	log := logging.From(ctx)
	for {
		missing, err := firstMissing(ctx, js, streams, buckets)
		if missing == "" {
			return nil
		}
		log.Warn("waiting for render to set up the streams", "missing", missing, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", missing, err)
		case <-time.After(setupPoll):
		}
	}
}

// firstMissing names the first stream or bucket that cannot be opened.
func firstMissing(ctx context.Context, js jetstream.JetStream, streams, buckets []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, s := range streams {
		if _, err := js.Stream(ctx, s); err != nil {
			return "stream " + s, err
		}
	}
	for _, b := range buckets {
		if _, err := js.KeyValue(ctx, b); err != nil {
			return "bucket " + b, err
		}
	}
	return "", nil
}
