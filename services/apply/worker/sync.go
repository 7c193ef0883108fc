package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// handle syncs one delivery and settles it.
func (w *worker) handle(ctx context.Context, d *delivery) {
	if ctx.Err() != nil {
		_ = d.msg.Nak() // shutting down: hand it straight back for the next worker
		return
	}
	started := time.Now()
	ds, ctx, err := w.decode(ctx, d)
	ctx, span := w.tracer.Start(ctx, "apply.sync", trace.WithAttributes(
		attribute.String("ferry.app", ds.GetApp()),
		attribute.String("ferry.cluster", w.opts.Cluster),
		attribute.String("ferry.revision", ds.GetRevision()),
	))
	defer span.End()
	if err != nil {
		w.settle(ctx, d, finish(newResult(ds, w.opts.Cluster, started), ferryv1.Phase_PHASE_FAILED, err.Error()), permanent(err))
		return
	}
	res, err := w.sync(ctx, d, ds, started)
	w.settle(ctx, d, res, err)
}

// decode reads the DesiredState of d, continuing the trace of its
// publisher. The app comes from the subject when the payload is unreadable.
func (w *worker) decode(ctx context.Context, d *delivery) (*ferryv1.DesiredState, context.Context, error) {
	ds := &ferryv1.DesiredState{}
	err := w.checkMessage(d)
	if err == nil {
		ctx, err = events.DecodeMsg(ctx, d.msg, ds)
	}
	if ds.GetApp() == "" {
		_, app, _ := subject.ClusterApp(d.msg.Subject())
		ds.App = app
	}
	ctx = logging.With(ctx, "app", ds.GetApp(), "revision", ds.GetRevision(),
		"subject", d.msg.Subject(), "seq", d.seq(), "delivery", d.meta.NumDelivered)
	return ds, ctx, err
}

// sync brings the cluster to ds. It always returns a result; a non-nil
// error says how the message is settled (see settle).
func (w *worker) sync(ctx context.Context, d *delivery, ds *ferryv1.DesiredState, started time.Time) (*ferryv1.SyncResult, error) {
	res := newResult(ds, w.opts.Cluster, started)
	if d.meta.NumDelivered > 1 {
		if newer, err := w.overtaken(ctx, d); err != nil {
			return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
		} else if newer {
			return finish(res, ferryv1.Phase_PHASE_SUPERSEDED, "a newer revision was published"), nil
		}
	}
	if ds.GetDeleted() {
		return w.remove(ctx, ds, res)
	}
	if prev, ok := w.unchanged(ds); ok && !forced(ctx) {
		return w.skipUnchanged(res, prev), nil
	}
	applyCtx, cancel := context.WithTimeout(ctx, w.opts.ApplyTimeout)
	defer cancel()
	inv, err := w.kube.loadInventory(applyCtx, ds.GetApp())
	if err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	if ds.GetDigest() != "" && inv.digest == ds.GetDigest() && inv.namespace == ds.GetNamespace() && !forced(ctx) {
		// Applied by an earlier process: the inventory says so. Watch it
		// for drift from here on.
		prev := appliedState{digest: inv.digest, namespace: inv.namespace, objects: inv.objects}
		w.remember(ds.GetApp(), prev)
		w.trackStored(applyCtx, ds)
		return w.skipUnchanged(res, prev), nil
	}
	data, release, err := w.loadBundle(applyCtx, ds)
	defer release()
	if err != nil {
		if !natsUnavailable(err) {
			err = permanent(err)
		}
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	w.forget(ds.GetApp())
	w.drift.Pause(ds.GetApp())
	objs, kept, err := w.kube.applyRevision(applyCtx, ds, data, inv, res)
	release()
	if err != nil {
		w.drift.Resume(ds.GetApp())
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	cancel()

	// The objects are applied: watch them for drift from now on, say so,
	// then wait for health without holding a slot another app could use.
	w.track(ctx, ds, objs)
	d.releaseSlot()
	w.publishApplied(ctx, res)
	health, healthMsg := w.awaitHealth(ctx, d, objs, res)
	w.remember(ds.GetApp(), appliedState{digest: ds.GetDigest(), namespace: ds.GetNamespace(), objects: kept, health: health})
	msg := summary(res.Objects)
	if healthMsg != "" {
		msg += "; " + healthMsg
	}
	return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, msg), nil
}

// skipUnchanged reports a digest that is already applied: every object
// unchanged, nothing sent to the API server. The health is what the
// objects' kstatus is now in the drift watch's informer cache, not what it
// was when the digest was applied: a failed revision in between, a restart
// or a change in the cluster leave a remembered health stale. With
// HealthTimeout negative health is not computed, as on a full sync.
func (w *worker) skipUnchanged(res *ferryv1.SyncResult, prev appliedState) *ferryv1.SyncResult {
	res.Objects = withAction(prev.objects, ferryv1.Action_ACTION_UNCHANGED)
	if w.opts.HealthTimeout >= 0 {
		rep := healthNow(w.drift.Cached, refsMetadata(prev.objects))
		for _, o := range res.Objects {
			if h, ok := rep.objects[metadataOf(o.GetRef())]; ok {
				o.Health = h.health
				if h.health != ferryv1.Health_HEALTH_HEALTHY {
					o.Message = h.message
				}
			}
		}
		res.Health = rep.health
	}
	return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, "unchanged: digest already applied")
}

// awaitHealth waits for the health of objs (see kube.waitHealth) unless
// the worker's HealthTimeout is negative, and records it in res. It
// returns the app's health and a message on it.
func (w *worker) awaitHealth(ctx context.Context, d *delivery, objs []*unstructured.Unstructured, res *ferryv1.SyncResult) (ferryv1.Health, string) {
	if w.opts.HealthTimeout < 0 {
		return ferryv1.Health_HEALTH_UNKNOWN, ""
	}
	ctx, span := w.tracer.Start(ctx, "apply.health")
	defer span.End()
	rep := waitHealth(ctx, w.drift.Cached, object.UnstructuredSetToObjMetadataSet(objs), w.opts.HealthTimeout, d.newer())
	span.SetAttributes(attribute.String("ferry.health", rep.health.String()))
	for _, o := range res.Objects {
		if h, ok := rep.objects[metadataOf(o.GetRef())]; ok {
			o.Health = h.health
			if h.health != ferryv1.Health_HEALTH_HEALTHY && o.Message == "" {
				o.Message = h.message
			}
		}
	}
	res.Health = rep.health
	return rep.health, rep.message
}

// overtaken reports whether a newer revision of d's app is already in the
// stream; a redelivered older revision must not roll the app back.
func (w *worker) overtaken(ctx context.Context, d *delivery) (bool, error) {
	last, err := w.desired.GetLastMsgForSubject(ctx, d.msg.Subject())
	if err != nil {
		return false, fmt.Errorf("look up newest revision of %s: %w", d.msg.Subject(), err)
	}
	return last.Sequence > d.seq(), nil
}

// superseded settles a delivery overtaken by a newer one before it was applied.
func (w *worker) superseded(ctx context.Context, d *delivery) {
	started := time.Now()
	ds, ctx, _ := w.decode(ctx, d)
	res := finish(newResult(ds, w.opts.Cluster, started), ferryv1.Phase_PHASE_SUPERSEDED, "a newer revision arrived before this one was applied")
	w.settle(ctx, d, res, nil)
}

// remove handles an app removed from the registry. With sync.prune set
// it deletes every object the app's inventory lists and Ferry still owns,
// then the inventory; without, it only drops the inventory, leaving the
// objects in place and no longer owned by Ferry.
func (w *worker) remove(ctx context.Context, ds *ferryv1.DesiredState, res *ferryv1.SyncResult) (*ferryv1.SyncResult, error) {
	app := ds.GetApp()
	w.forget(app)
	w.drift.Forget(app)
	ctx, cancel := context.WithTimeout(ctx, w.opts.ApplyTimeout)
	defer cancel()
	if !ds.GetSync().GetPrune() {
		if err := w.kube.deleteInventory(ctx, app); err != nil {
			return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
		}
		return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, "app deleted; objects left in place (prune is off)"), nil
	}
	inv, err := w.kube.loadInventory(ctx, app)
	if err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	res.Objects, err = w.kube.prune(ctx, app, inv.objects)
	if err != nil {
		next := &inventory{namespace: inv.namespace, objects: notDeleted(res.Objects)}
		if serr := w.kube.saveInventory(ctx, app, next); serr != nil {
			err = errors.Join(err, serr)
		}
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), fmt.Errorf("prune: %w", err)
	}
	if err := w.kube.deleteInventory(ctx, app); err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, summary(res.Objects)), nil
}

// notDeleted returns the refs of the prune results that failed.
func notDeleted(results []*ferryv1.ObjectResult) []*ferryv1.ObjectRef {
	var out []*ferryv1.ObjectRef
	for _, r := range results {
		if r.GetAction() == ferryv1.Action_ACTION_FAILED {
			out = append(out, r.GetRef())
		}
	}
	return out
}

// unchanged returns what this process applied for the app when it has
// already applied ds's digest into the same namespace.
func (w *worker) unchanged(ds *ferryv1.DesiredState) (appliedState, bool) {
	if ds.GetDigest() == "" {
		return appliedState{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, ok := w.applied[ds.GetApp()]
	if !ok || prev.digest != ds.GetDigest() || prev.namespace != ds.GetNamespace() {
		return appliedState{}, false
	}
	return prev, true
}

// remember records a successful apply of app.
func (w *worker) remember(app string, s appliedState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.applied[app] = s
}

// forget drops what is known about app, so its next revision is applied
// in full even when its digest was applied before.
func (w *worker) forget(app string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.applied, app)
}

// natsUnavailable reports errors of reaching NATS rather than of the
// bundle itself, which are worth retrying.
func natsUnavailable(err error) bool {
	return slices.ContainsFunc([]error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrConnectionClosed, nats.ErrDisconnected,
		nats.ErrConnectionReconnecting, nats.ErrNoResponders, jetstream.ErrJetStreamNotEnabled,
	}, func(target error) bool { return errors.Is(err, target) })
}

// summary counts the actions of objects, e.g. "3 created, 1 configured".
func summary(objects []*ferryv1.ObjectResult) string {
	counts := map[ferryv1.Action]int{}
	for _, o := range objects {
		counts[o.GetAction()]++
	}
	s := ""
	for _, a := range []ferryv1.Action{
		ferryv1.Action_ACTION_CREATED, ferryv1.Action_ACTION_CONFIGURED, ferryv1.Action_ACTION_UNCHANGED,
		ferryv1.Action_ACTION_DELETED, ferryv1.Action_ACTION_SKIPPED,
	} {
		if counts[a] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d %s", counts[a], actionWord(a))
		}
	}
	if s == "" {
		return "no objects"
	}
	return s
}

// actionWord is the lowercase word for a in summaries.
func actionWord(a ferryv1.Action) string {
	switch a {
	case ferryv1.Action_ACTION_CREATED:
		return "created"
	case ferryv1.Action_ACTION_CONFIGURED:
		return "configured"
	case ferryv1.Action_ACTION_UNCHANGED:
		return "unchanged"
	case ferryv1.Action_ACTION_DELETED:
		return "deleted"
	default:
		return "skipped"
	}
}
