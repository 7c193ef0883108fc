package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// commandInfo names the operator command a sync or result belongs to.
type commandInfo struct {
	id, verb, by string
}

// commandKey is the context key of a commandInfo.
type commandKey struct{}

// withCommand marks ctx as working for the command info.
func withCommand(ctx context.Context, info commandInfo) context.Context {
	return context.WithValue(ctx, commandKey{}, info)
}

// commandFrom returns the command ctx works for.
func commandFrom(ctx context.Context) (commandInfo, bool) {
	info, ok := ctx.Value(commandKey{}).(commandInfo)
	return info, ok
}

// forced reports whether the sync in ctx was asked for by an operator
// command, which re-applies even a digest the cluster already has.
func forced(ctx context.Context) bool {
	_, ok := commandFrom(ctx)
	return ok
}

// commandOf reads the command marks of a republished desired state.
func commandOf(h nats.Header) (commandInfo, bool) {
	id := h.Get(cluster.HeaderCommand)
	if id == "" {
		return commandInfo{}, false
	}
	return commandInfo{id: id, verb: h.Get(cluster.HeaderVerb), by: h.Get(cluster.HeaderRequestedBy)}, true
}

// gated wraps the dispatcher's handle: a desired state a command
// republished is applied for that command, in full; one from render is
// held back, with a result saying why, while its app is pinned or
// suspended.
func (w *worker) gated(handle func(context.Context, *delivery)) func(context.Context, *delivery) {
	return func(ctx context.Context, d *delivery) {
		if w.ctl == nil || ctx.Err() != nil {
			handle(ctx, d)
			return
		}
		if info, ok := commandOf(d.msg.Headers()); ok {
			if _, app, err := subject.ClusterApp(d.msg.Subject()); err == nil {
				w.forget(app)
			}
			handle(withCommand(ctx, info), d)
			return
		}
		if w.ctl.hold(ctx, d) {
			return
		}
		handle(ctx, d)
	}
}

// attributed wraps the dispatcher's supersede, so a command's desired
// state that a newer one overtook still answers the command.
func (w *worker) attributed(supersede func(context.Context, *delivery)) func(context.Context, *delivery) {
	return func(ctx context.Context, d *delivery) {
		if info, ok := commandOf(d.msg.Headers()); ok {
			ctx = withCommand(ctx, info)
		}
		supersede(ctx, d)
	}
}

// hold settles d without applying it when its app is pinned (and d is
// not a commit pushed after the pin, which ends the pin) or suspended,
// and reports whether it did.
func (c *control) hold(ctx context.Context, d *delivery) bool {
	_, app, err := subject.ClusterApp(d.msg.Subject())
	if err != nil {
		return false
	}
	ac := c.get(app)
	if ac.Zero() {
		return false
	}
	started := time.Now()
	ds, ctx, err := c.w.decode(ctx, d)
	if err != nil {
		return false // handle reports the broken message
	}
	log := logging.From(ctx)
	if p := ac.Pinned; p != nil {
		if !pushedAfter(ds, p.At) {
			res := finish(newResult(ds, c.w.opts.Cluster, started), ferryv1.Phase_PHASE_HELD, fmt.Sprintf(
				"not applied: %s is pinned to revision %s by %s since %s (rollback); push a new commit or unpin",
				app, p.Revision, who(p.By), p.At.UTC().Format(time.RFC3339)))
			c.w.settle(ctx, d, res, nil)
			c.reassert(ctx, app, p)
			return true
		}
		err := c.update(ctx, app, func(ac *cluster.AppControl) {
			if ac.Pinned != nil && ac.Pinned.Command == p.Command {
				ac.Pinned = nil
			}
		})
		if err != nil {
			log.Warn("could not end the pin, will retry", "error", err)
			_ = d.msg.NakWithDelay(retryDelay(d.meta.NumDelivered))
			return true
		}
		log.Info("pin ended by a newer commit", "pinned", p.Revision)
	}
	if s := ac.Suspended; s != nil {
		res := finish(newResult(ds, c.w.opts.Cluster, started), ferryv1.Phase_PHASE_HELD, fmt.Sprintf(
			"not applied: automated sync of %s suspended by %s since %s; resume to apply",
			app, who(s.By), s.At.UTC().Format(time.RFC3339)))
		c.w.settle(ctx, d, res, nil)
		return true
	}
	return false
}

// pushedAfter reports whether ds comes from a push received after t:
// ingest's receive time, else render's time. Without either it is not.
func pushedAfter(ds *ferryv1.DesiredState, t time.Time) bool {
	at := ds.GetReceivedUnixNano()
	if at == 0 {
		at = ds.GetRenderedUnixNano()
	}
	return at != 0 && at > t.UnixNano()
}

// reassert queues the pinned revision again when the worker has not
// applied it, e.g. because a revision rendered before the pin overtook the
// rollback in the app's queue, or the worker restarted mid-apply.
func (c *control) reassert(ctx context.Context, app string, p *cluster.Pin) {
	if c.appliedDigest(app) == p.Digest {
		return
	}
	h, err := c.history(ctx, app)
	if err == nil {
		target := find(h, p.Revision, p.Digest)
		if target == nil {
			err = fmt.Errorf("revision %s is no longer in %s", p.Revision, subject.StreamDesired)
		} else {
			err = c.republish(ctx, app, target, commandInfo{id: p.Command, verb: subject.VerbRollback, by: p.By}, "")
		}
	}
	if err != nil {
		logging.From(ctx).Warn("could not queue the pinned revision again", "pinned", p.Revision, "error", err)
	}
}

// who names a requester in messages.
func who(by string) string {
	if by == "" {
		return "an operator"
	}
	return by
}
