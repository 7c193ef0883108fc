package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/pkg/bundle"
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
	ctx, err := events.DecodeMsg(ctx, d.msg, ds)
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
	if objs, ok := w.unchanged(ds); ok {
		res.Objects = withAction(objs, ferryv1.Action_ACTION_UNCHANGED)
		return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, "unchanged: digest already applied"), nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.ApplyTimeout)
	defer cancel()
	data, err := bundle.Load(ctx, w.js, ds)
	if err != nil {
		if !natsUnavailable(err) {
			err = permanent(err)
		}
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	objs, err := w.kube.prepare(ds, data)
	if err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	cs, err := w.kube.manager.ApplyAllStaged(ctx, objs, w.applyOptions())
	res.Objects = objectResults(objs, cs, err)
	if err != nil {
		w.forget(ds.GetApp())
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), fmt.Errorf("apply: %w", err)
	}
	w.remember(ds, refs(res.Objects))
	return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, summary(res.Objects)), nil
}

// applyOptions are ssa's defaults with waits for Namespaces and CRDs
// polled often enough not to dominate a small apply.
func (w *worker) applyOptions() ssa.ApplyOptions {
	o := ssa.DefaultApplyOptions()
	o.WaitInterval = 250 * time.Millisecond
	o.WaitTimeout = min(w.opts.ApplyTimeout, time.Minute)
	return o
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

// remove handles an app removed from the registry. With sync.prune set it
// deletes what this process last applied for the app; the inventory that
// makes this survive restarts comes with prune.
func (w *worker) remove(ctx context.Context, ds *ferryv1.DesiredState, res *ferryv1.SyncResult) (*ferryv1.SyncResult, error) {
	w.mu.Lock()
	prev, known := w.applied[ds.GetApp()]
	w.mu.Unlock()
	if !ds.GetSync().GetPrune() || !known {
		return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, "app deleted; nothing pruned"), nil
	}
	stubs := make([]*unstructured.Unstructured, 0, len(prev.objects))
	for _, ref := range prev.objects {
		stubs = append(stubs, stub(ref))
	}
	opts := ssa.DefaultDeleteOptions()
	opts.Inclusions = map[string]string{LabelManagedBy: managedByValue, LabelApp: ds.GetApp()}
	ctx, cancel := context.WithTimeout(ctx, w.opts.ApplyTimeout)
	defer cancel()
	cs, err := w.kube.manager.DeleteAll(ctx, stubs, opts)
	res.Objects = objectResults(stubs, cs, err)
	if err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), fmt.Errorf("prune: %w", err)
	}
	w.forget(ds.GetApp())
	return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, summary(res.Objects)), nil
}

// unchanged returns the objects of the app when this process has already
// applied ds's digest into the same namespace.
func (w *worker) unchanged(ds *ferryv1.DesiredState) ([]*ferryv1.ObjectRef, bool) {
	if ds.GetDigest() == "" {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, ok := w.applied[ds.GetApp()]
	if !ok || prev.digest != ds.GetDigest() || prev.namespace != ds.GetNamespace() {
		return nil, false
	}
	return prev.objects, true
}

// remember records a successful apply of ds.
func (w *worker) remember(ds *ferryv1.DesiredState, objects []*ferryv1.ObjectRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.applied[ds.GetApp()] = appliedState{digest: ds.GetDigest(), namespace: ds.GetNamespace(), objects: objects}
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
