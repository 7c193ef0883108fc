package renderer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/manifest"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
	"github.com/ferrycd/ferry/services/render/source"
)

// zeroCommit is the "after" of a deleted ref.
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
	if ev.GetCloneUrl() == "" {
		return terminal(errors.New("push event has no clone url"))
	}
	snap, err := r.cache.Checkout(ctx, ev.GetCloneUrl(), branch, ev.GetAfter())
	if err != nil {
		return err
	}
	defer snap.Close()
	if snap.Superseded() {
		log.Info("skipping push: the branch already moved on", "ref", ev.GetRef(), "tip", snap.Tip.String())
		return nil
	}
	if branch == r.opts.PlatformRef {
		if err := r.syncRegistry(ctx, ev, snap); err != nil {
			return err
		}
	}
	targets := r.apps.targets(ev.GetRepoKey(), branch)
	if len(targets) == 0 {
		log.Debug("no app follows this branch", "ref", ev.GetRef())
		return nil
	}
	memo := map[string]rendered{}
	var errs []error
	for _, t := range targets {
		if err := r.renderTarget(ctx, ev, snap, t, memo); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rendered is one render's outcome, shared by destinations with the same inputs.
type rendered struct {
	tool string
	data []byte
	err  error
}

// renderTarget renders and publishes one app × destination. A broken
// source is published as a RenderFailed status and is not an error.
func (r *renderer) renderTarget(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot, t target, memo map[string]rendered) error {
	started := time.Now()
	ctx, span := tracer().Start(ctx, "render.app")
	defer span.End()
	span.SetAttributes(attribute.String("ferry.app", t.entry.Name), attribute.String("ferry.cluster", t.dest.Cluster),
		attribute.String("ferry.revision", ev.GetAfter()))
	ctx = logging.With(ctx, "app", t.entry.Name, "cluster", t.dest.Cluster)
	log := logging.From(ctx)

	key := renderKey(t)
	out, ok := memo[key]
	if !ok {
		out = r.render(ctx, snap, t)
		memo[key] = out
	}
	if out.err != nil {
		span.RecordError(out.err)
		span.SetStatus(codes.Error, "render failed")
		var se *source.Error
		if !errors.As(out.err, &se) {
			return out.err
		}
		log.Warn("render failed", "file", se.File, "error", out.err)
		if err := r.publishFailure(ctx, ev, t, started, se.File, out.err); err != nil {
			return fmt.Errorf("publish render failure of %s/%s: %w", t.dest.Cluster, t.entry.Name, err)
		}
		return nil
	}
	ds, err := r.publishDesired(ctx, ev, t, out.tool, out.data)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
		return fmt.Errorf("publish desired state of %s/%s: %w", t.dest.Cluster, t.entry.Name, err)
	}
	span.SetAttributes(attribute.String("ferry.digest", ds.GetDigest()), attribute.Int("ferry.bytes", len(out.data)))
	log.Info("desired state published", "tool", out.tool, "digest", ds.GetDigest(), "bytes", len(out.data),
		"in_object_store", ds.GetBundle() != "", "duration", time.Since(started))
	return nil
}

// render runs the detected tool on the destination's path and validates
// what it produced.
func (r *renderer) render(ctx context.Context, snap *gitcache.Snapshot, t target) rendered {
	dir := t.entry.PathFor(t.dest)
	sub, err := fs.Sub(snap.FS(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return rendered{err: &source.Error{File: dir, Err: fmt.Errorf("%s: path does not exist at this revision", dir)}}
	}
	if err != nil {
		return rendered{err: fmt.Errorf("open %s: %w", dir, err)}
	}
	tool, err := source.Detect(sub, r.tools)
	if err != nil {
		return rendered{err: err}
	}
	data, err := tool.Render(ctx, source.Request{
		FS: sub, Path: dir, Namespace: t.dest.Namespace, Values: t.dest.Values, ValuesObject: t.dest.ValuesObject,
	})
	if err != nil {
		return rendered{tool: tool.Name(), err: err}
	}
	objs, err := manifest.Parse(dir, data)
	if err != nil {
		return rendered{tool: tool.Name(), err: &source.Error{Err: err}}
	}
	if len(objs) == 0 {
		// Publishing nothing would prune everything; an app is removed by
		// deleting it from ferry.yaml, not by emptying its directory.
		return rendered{tool: tool.Name(), err: &source.Error{File: dir, Err: fmt.Errorf("%s: no manifests found", dir)}}
	}
	return rendered{tool: tool.Name(), data: data}
}

// renderKey identifies the inputs of a render within one push.
func renderKey(t target) string {
	return fmt.Sprintf("%s\x00%s\x00%q\x00%v", t.entry.PathFor(t.dest), t.dest.Namespace, t.dest.Values, t.dest.ValuesObject)
}
