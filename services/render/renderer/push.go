package renderer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/repoid"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
	"github.com/ferrycd/ferry/services/render/source"
)

// zeroCommit is the "after" of a deleted ref and the "before" of a new one.
const zeroCommit = "0000000000000000000000000000000000000000"

// handle does everything one push asks for. A nil error means every state
// and status was published and the push can be acked; an *terminalError
// means retrying cannot help; anything else is retried later.
func (r *renderer) handle(ctx context.Context, ev *ferryv1.PushEvent) error {
	log := logging.From(ctx)
	branch, ok := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	if !ok {
		log.Info("skipping push of a non-branch ref", "ref", ev.GetRef())
		return nil
	}
	if ev.GetAfter() == "" || ev.GetAfter() == zeroCommit {
		log.Info("skipping branch deletion", "ref", ev.GetRef())
		return nil
	}
	push, err := repoid.Parse(ev.GetCloneUrl())
	if err != nil {
		return terminal(fmt.Errorf("push names no repository render may fetch: %w", err))
	}
	external, err := r.handleRepo(ctx, ev, push, branch)
	if err != nil {
		return err
	}
	// Apps the registry just gained (or changed) whose source is another
	// repository are rendered now from that repository's branch tip, after
	// this repository's lock is released.
	return r.renderExternal(ctx, ev, external)
}

// handleRepo renders the apps whose source is the pushed repository and,
// for a platform repository's platform branch, syncs the registry first;
// it returns the other repositories' targets the registry change asks to
// render. Render fetches only URLs the operator or the registry named:
// the platform repository's configured URL or an app's registered source,
// never the clone URL the webhook spelled. Every target found is the
// pushed repository (whatever spelling registered it), so one checkout
// serves them all.
func (r *renderer) handleRepo(ctx context.Context, ev *ferryv1.PushEvent, push repoid.ID, branch string) ([]target, error) {
	platformURL, isPlatform := r.platforms.match(push)
	isPlatform = isPlatform && branch == r.opts.PlatformRef
	url, targets := platformURL, []target(nil)
	if !isPlatform {
		targets = r.apps.targets(push, branch)
		if url = sourceURL(targets); url == "" {
			logging.From(ctx).Debug("no app follows this repository and branch; nothing fetched", "ref", ev.GetRef())
			return nil, nil
		}
	}
	var external []target
	err := r.withCheckout(ctx, ev, url, branch, func(snap *gitcache.Snapshot) error {
		var err error
		if isPlatform {
			// The registry may change the targets: read them after it.
			if external, err = r.syncRegistry(ctx, ev, snap, platformURL); err == nil {
				targets = r.apps.targets(push, branch)
			}
		} else if branch == r.opts.PlatformRef {
			err = r.noticeStrayRegistry(ctx, ev, snap, url)
		}
		if err != nil {
			return err
		}
		return r.renderFrom(ctx, ev, snap, targets)
	})
	if err != nil {
		return nil, err
	}
	return external, nil
}

// withCheckout checks out ev's revision of url and runs fn on it, unless
// the branch already moved on past it (a later push renders then).
func (r *renderer) withCheckout(ctx context.Context, ev *ferryv1.PushEvent, url, branch string, fn func(*gitcache.Snapshot) error) error {
	snap, err := r.cache.Checkout(ctx, url, branch, ev.GetAfter())
	if err != nil {
		return err
	}
	defer snap.Close()
	if snap.Superseded() {
		logging.From(ctx).Info("skipping push: the branch already moved on", "source", url, "ref", ev.GetRef(), "tip", snap.Tip.String())
		return nil
	}
	return fn(snap)
}

// renderFrom renders targets at snap, scoped to what changed since ev's before.
func (r *renderer) renderFrom(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot, targets []target) error {
	if len(targets) == 0 {
		return nil
	}
	scope, err := newScope(ctx, snap, ev.GetBefore())
	if err != nil {
		return err
	}
	return r.renderTargets(ctx, ev, snap, scope, targets)
}

// renderTargets renders and publishes each target the push touches.
func (r *renderer) renderTargets(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot, scope *scope, targets []target) error {
	memo := map[string]memoEntry{}
	var errs []error
	for _, t := range targets {
		if err := r.renderTarget(ctx, ev, snap, scope, t, memo); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// renderTarget renders and publishes one app × destination unless the
// push changed nothing it uses. A broken source is published as a
// RenderFailed status and is not an error.
func (r *renderer) renderTarget(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot, scope *scope, t target, memo map[string]memoEntry) error {
	started := time.Now()
	ctx = logging.With(ctx, "app", t.entry.Name, "cluster", t.dest.Cluster)
	log := logging.From(ctx)
	params := renderKey(t)
	rec := r.state.record(t)
	if rec != nil && rec.params == params {
		touched, err := scope.touches(ctx, snap, rec)
		if err != nil {
			return err
		}
		if !touched {
			r.state.skips.Add(1)
			r.state.advance(t, ev.GetAfter())
			log.Debug("push changes nothing the app uses")
			return nil
		}
	}

	ctx, span := tracer().Start(ctx, "render.app")
	defer span.End()
	span.SetAttributes(attribute.String("ferry.app", t.entry.Name), attribute.String("ferry.cluster", t.dest.Cluster),
		attribute.String("ferry.revision", ev.GetAfter()))
	out, obs, err := r.output(ctx, snap, t, rec, params, memo)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "render failed")
		return err
	}
	if out.err != nil {
		var se *source.Error
		errors.As(out.err, &se)
		span.RecordError(out.err)
		span.SetStatus(codes.Error, "render failed")
		log.Warn("render failed", "file", se.File, "error", out.err)
		if err := r.publishFailure(ctx, ev, t, started, se.File, out.err); err != nil {
			return fmt.Errorf("publish render failure of %s/%s: %w", t.dest.Cluster, t.entry.Name, err)
		}
	} else {
		ds, published, err := r.publishDesired(ctx, ev, t, commitInfo(snap), out.tool, out.data)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "publish failed")
			return fmt.Errorf("publish desired state of %s/%s: %w", t.dest.Cluster, t.entry.Name, err)
		}
		span.SetAttributes(attribute.String("ferry.digest", ds.GetDigest()), attribute.Int("ferry.bytes", len(out.data)),
			attribute.Bool("ferry.published", published))
		if published {
			log.Info("desired state published", "tool", out.tool, "digest", ds.GetDigest(), "bytes", len(out.data),
				"in_object_store", ds.GetBundle() != "", "duration", time.Since(started))
		} else {
			r.state.unchanged.Add(1)
			log.Info("rendered output unchanged; nothing published", "tool", out.tool, "digest", ds.GetDigest())
		}
	}
	r.state.setRecord(t, &record{rev: ev.GetAfter(), params: params, obs: obs})
	return nil
}

// output returns t's rendered output at snap: from this push's memo,
// from the cache when the inputs t used last time look the same, or by
// rendering. The observation is what the inputs look like at snap.
func (r *renderer) output(ctx context.Context, snap *gitcache.Snapshot, t target, rec *record, params string, memo map[string]memoEntry) (output, source.Observation, error) {
	if rec != nil && rec.params == params {
		obs, err := rec.obs.At(snap)
		if err != nil {
			return output{}, nil, err
		}
		if out, ok := r.state.cache.get(cacheKey(obs, params)); ok {
			r.state.hits.Add(1)
			return out, obs, nil
		}
	}
	if m, ok := memo[params]; ok {
		r.state.hits.Add(1)
		return m.out, m.obs, nil
	}
	out, in, err := r.render(ctx, snap, t)
	if err != nil {
		return output{}, nil, err
	}
	obs, err := in.Observe(snap)
	if err != nil {
		return output{}, nil, err
	}
	r.state.cache.put(cacheKey(obs, params), out)
	memo[params] = memoEntry{out: out, obs: obs}
	return out, obs, nil
}

// memoEntry is a render shared by the destinations of one push with the
// same parameters.
type memoEntry struct {
	out output
	obs source.Observation
}

// cacheKey identifies an output by its inputs and render parameters.
func cacheKey(obs source.Observation, params string) string { return obs.Key() + "\x00" + params }

// renderKey identifies the parameters of a render besides the tree.
func renderKey(t target) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%v\x00%s", t.entry.PathFor(t.dest), t.entry.Name, t.dest.Namespace,
		t.dest.Values, t.dest.ValuesObject, t.entry.KubeVersionFor(t.dest))
}
