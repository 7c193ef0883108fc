package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/ferrycd/ferry/pkg/bundle"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// The worker's memory per revision is bounded twice. Render refuses
// output over its limits (services/render/renderer/limits.go), so a
// desired state it publishes is at most --max-rendered-bytes. The worker
// checks again, with --max-bundle-bytes, before it decodes a message or
// reads a bundle: a state from an older or differently configured render,
// or a forged one, gets a terminal FAILED result saying why instead of
// killing the worker on every redelivery. And the bundle bytes being
// loaded, parsed and applied at once are bounded by the same number
// (byteBudget), so parallel apps cannot add up past what one largest
// revision costs.

// errTooLarge wraps bundle.ErrTooLarge with the worker's advice.
func (w *worker) errTooLarge(what string, size int64) error {
	return permanent(fmt.Errorf("%w: %s is %d bytes (%.1f MiB), over this worker's limit of %d bytes; "+
		"render publishes at most its --max-rendered-bytes, so this state comes from an older or differently configured render; "+
		"raise the worker's --max-bundle-bytes, and its memory limit, to apply it",
		bundle.ErrTooLarge, what, size, float64(size)/(1<<20), w.opts.MaxBundleBytes))
}

// checkMessage refuses a message larger than the bundle limit before it is
// decoded: decoding copies it.
func (w *worker) checkMessage(d *delivery) error {
	if n := int64(len(d.msg.Data())); w.opts.MaxBundleBytes > 0 && n > w.opts.MaxBundleBytes {
		return w.errTooLarge("the desired state message", n)
	}
	return nil
}

// loadBundle returns the manifests of ds, refusing them unread when they
// are over the bundle limit, and holds their size in the worker's byte
// budget until release is called (also on error; it may be called twice).
// Waiting for the budget ends with ctx.
func (w *worker) loadBundle(ctx context.Context, ds *ferryv1.DesiredState) (data []byte, release func(), err error) {
	noop := func() {}
	size, err := bundle.Size(ctx, w.js, ds)
	if err != nil {
		return nil, noop, err
	}
	if w.opts.MaxBundleBytes > 0 && size > w.opts.MaxBundleBytes {
		return nil, noop, w.errTooLarge("the bundle of "+ds.GetApp()+" at "+ds.GetRevision(), size)
	}
	release, err = w.budget.acquire(ctx, size)
	if err != nil {
		return nil, noop, err
	}
	data, err = bundle.LoadMax(ctx, w.js, ds, w.opts.MaxBundleBytes)
	if errors.Is(err, bundle.ErrTooLarge) {
		err = permanent(err) // grew between the look-up and the read
	}
	if err != nil {
		release()
		return nil, noop, err
	}
	return data, release, nil
}

// byteBudget bounds the bundle bytes being loaded, parsed and applied at
// once. A nil budget has no bound.
type byteBudget struct {
	max int64
	sem *semaphore.Weighted
}

// newByteBudget is a budget of max bytes; nil when max is not positive.
func newByteBudget(max int64) *byteBudget {
	if max <= 0 {
		return nil
	}
	return &byteBudget{max: max, sem: semaphore.NewWeighted(max)}
}

// acquire waits until n bytes (at most the whole budget) are free and
// takes them; release gives them back, once.
func (b *byteBudget) acquire(ctx context.Context, n int64) (release func(), err error) {
	if b == nil || n <= 0 {
		return func() {}, nil
	}
	n = min(n, b.max)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, fmt.Errorf("wait for memory to apply %d bundle bytes: %w", n, err)
	}
	return sync.OnceFunc(func() { b.sem.Release(n) }), nil
}
