package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Events returns the events f selects that were stored since since (all
// of them when since is zero), in time order: exactly what is stored when
// it starts, counted by each stream, never waiting for more. Each stream
// is read with a short-lived consumer without acks, deleted afterwards.
func (c *Client) Events(ctx context.Context, f Filter, since time.Time) ([]Event, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readTimeout)
		defer cancel()
	}
	var out []Event
	for _, src := range sources(f) {
		evs, err := c.storedEvents(ctx, src, since)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq)) })
	return out, nil
}

// storedEvents reads src's messages since since. The consumer's pending
// count at creation says how many there are, so the read ends when they
// have arrived, not after a quiet spell.
func (c *Client) storedEvents(ctx context.Context, src source, since time.Time) ([]Event, error) {
	cfg := jetstream.ConsumerConfig{
		FilterSubjects: []string{src.filter}, DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute, MemoryStorage: true,
	}
	if !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := c.js.CreateConsumer(ctx, src.stream, cfg)
	if src.optional() && errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s (has any Ferry service run against this NATS?): %w", src.stream, err)
	}
	name := cons.CachedInfo().Name
	defer func() { _ = c.js.DeleteConsumer(context.WithoutCancel(ctx), src.stream, name) }()
	want := cons.CachedInfo().NumPending
	out := make([]Event, 0, want)
	for uint64(len(out)) < want {
		batch, err := cons.Fetch(int(min(want-uint64(len(out)), 256)), jetstream.FetchContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", src.stream, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			out = append(out, eventOf(src, msg))
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read %s: %w", src.stream, err)
		}
		if n == 0 {
			break // messages removed by retention since the count
		}
	}
	return out, nil
}
