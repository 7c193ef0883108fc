package renderer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/repoid"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// terminalError marks a push that can never succeed: it is terminated, not retried.
type terminalError struct{ err error }

func (e *terminalError) Error() string { return e.err.Error() }
func (e *terminalError) Unwrap() error { return e.err }

func terminal(err error) error { return &terminalError{err: err} }

// settle acks, naks with backoff or terminates msg according to err.
// After MaxDeliveries failed attempts the apps the push would have
// rendered get a failure status, so the push is never dropped silently.
func (r *renderer) settle(ctx context.Context, msg jetstream.Msg, ev *ferryv1.PushEvent, err error) {
	log := logging.From(ctx)
	var term *terminalError
	switch {
	case err == nil:
		if err := msg.Ack(); err != nil {
			log.Warn("ack failed; the push will be redelivered", "error", err)
		}
		return
	case errors.As(err, &term):
		log.Error("dropping push that cannot be processed", "error", err)
		_ = msg.Term()
		return
	}
	delivered := uint64(1)
	if meta, merr := msg.Metadata(); merr == nil {
		delivered = meta.NumDelivered
	}
	if delivered < uint64(r.opts.MaxDeliveries) {
		delay := r.retryDelay(delivered)
		log.Warn("push failed; retrying later", "error", err, "attempt", delivered, "retry_in", delay)
		if nerr := msg.NakWithDelay(delay); nerr != nil {
			log.Warn("nak failed; the push will be redelivered after the ack wait", "error", nerr)
		}
		return
	}
	log.Error("push failed too often; giving up", "error", err, "attempts", delivered)
	r.reportGiveUp(ctx, ev, delivered, err)
	_ = msg.Term()
}

// reportGiveUp publishes a failure status to every app the push would
// have rendered, as far as the registry knows them.
func (r *renderer) reportGiveUp(ctx context.Context, ev *ferryv1.PushEvent, attempts uint64, cause error) {
	branch, ok := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	if !ok {
		return
	}
	now := time.Now()
	err := fmt.Errorf("gave up after %d attempts: %w", attempts, cause)
	push, perr := repoid.Parse(ev.GetCloneUrl())
	if perr != nil {
		return
	}
	for _, t := range r.apps.targets(push, branch) {
		if perr := r.publishFailure(ctx, ev, t, now, "", err); perr != nil {
			logging.From(ctx).Error("cannot publish failure status", "app", t.entry.Name, "cluster", t.dest.Cluster, "error", perr)
		}
	}
}

// retryDelay is the exponential backoff delay before delivery n+1.
func (r *renderer) retryDelay(n uint64) time.Duration {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = r.opts.RetryInitial
	b.MaxInterval = r.opts.RetryMax
	b.MaxElapsedTime = 0
	b.Reset()
	d := b.InitialInterval
	for i := uint64(0); i < n && d < r.opts.RetryMax; i++ {
		d = b.NextBackOff()
	}
	return min(d, r.opts.RetryMax)
}
