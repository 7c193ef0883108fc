package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
)

// maxUpdateAttempts bounds retries of a controls update that lost a race
// (another process of the same cluster wrote the key in between).
const maxUpdateAttempts = 3

// load reads the cluster's app controls from KV.
func (c *control) load(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loadLocked(ctx)
}

// loadLocked is load with c.mu held.
func (c *control) loadLocked(ctx context.Context) error {
	e, err := c.state.Get(ctx, c.w.opts.Cluster)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		c.controls, c.revision = cluster.Controls{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("read app controls from %s: %w", subject.BucketAppState, err)
	}
	var ctl cluster.Controls
	if err := cluster.Decode(e.Value(), &ctl); err != nil {
		return fmt.Errorf("read app controls from %s: %w", subject.BucketAppState, err)
	}
	c.controls, c.revision = ctl, e.Revision()
	return nil
}

// get returns app's controls; the zero value when it has none.
func (c *control) get(app string) cluster.AppControl {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.controls.Apps[app]
}

// update changes app's controls with fn and stores them in KV before it
// changes what the worker acts on, so a restart never forgets a pin.
// fn must set new values, not modify the Pin or Hold it finds.
func (c *control) update(ctx context.Context, app string, fn func(*cluster.AppControl)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for range maxUpdateAttempts {
		next := cluster.Controls{Apps: maps.Clone(c.controls.Apps)}
		if next.Apps == nil {
			next.Apps = map[string]cluster.AppControl{}
		}
		ac := next.Apps[app]
		fn(&ac)
		if ac.Zero() {
			delete(next.Apps, app)
		} else {
			next.Apps[app] = ac
		}
		data, eerr := cluster.Encode(next)
		if eerr != nil {
			return eerr
		}
		var rev uint64
		if c.revision == 0 {
			rev, err = c.state.Create(ctx, c.w.opts.Cluster, data)
		} else {
			rev, err = c.state.Update(ctx, c.w.opts.Cluster, data, c.revision)
		}
		if err == nil {
			c.controls, c.revision = next, rev
			return nil
		}
		if lerr := c.loadLocked(ctx); lerr != nil {
			return lerr
		}
	}
	return fmt.Errorf("store app controls of %s in %s: %w", app, subject.BucketAppState, err)
}
