package driftwatch

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferrycd/ferry/pkg/logging"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TracerName names the tracer of drift detection spans.
const TracerName = "github.com/ferrycd/ferry/services/apply/driftwatch"

// check compares one tracked object with its desired state and, when it
// drifted, heals it (if asked and the app is not suspended) and publishes
// a DriftEvent.
func (w *Watcher) check(ctx context.Context, item work) error {
	desired, st, ignore, ok, err := w.reg.lookup(item)
	if err != nil || !ok {
		return err
	}
	drifted, err := w.compare(ctx, desired, ignore)
	if err != nil || drifted == nil {
		return err
	}
	ctx, span := otel.Tracer(TracerName).Start(ctx, "drift.detect")
	defer span.End()
	span.SetAttributes(attribute.String("ferry.app", st.App), attribute.String("ferry.cluster", w.opts.Cluster),
		attribute.String("ferry.revision", st.Revision), attribute.String("ferry.object", item.Key.Kind+"/"+item.Key.Name))
	ev := &ferryv1.DriftEvent{
		App: st.App, Cluster: w.opts.Cluster, Revision: st.Revision, RepoUrl: st.RepoURL,
		Objects: []*ferryv1.DriftedObject{drifted}, DetectedUnixNano: time.Now().UnixNano(),
	}
	log := logging.From(ctx).With("app", st.App, "object", refString(drifted.GetRef()))
	if st.SelfHeal && w.opts.Suspended != nil && w.opts.Suspended(st.App) {
		// Suspension holds self-heal as it holds new revisions; this
		// correction is not counted toward the fight limit either.
		ev.Suspended = true
		log.Info("drift not corrected: the app is suspended")
	} else if st.SelfHeal {
		allowed, fightStarted := w.reg.allowHeal(st.App, w.opts.FightLimit, w.opts.FightWindow, time.Now())
		switch {
		case allowed:
			heal, err := withoutIgnored(desired, ignore)
			if err == nil {
				_, err = w.rm.Apply(ctx, heal, ssa.DefaultApplyOptions())
			}
			if err != nil {
				log.Warn("self-heal failed", "error", err)
			} else {
				ev.Corrected = true
			}
		case fightStarted:
			ev.Fighting = true
			log.Warn("self-heal stopped: another writer keeps reverting Ferry's corrections",
				"limit", w.opts.FightLimit, "window", w.opts.FightWindow.String())
		default:
			ev.Fighting = true
		}
	}
	if err := w.publish(ctx, ev); err != nil {
		return fmt.Errorf("publish drift event: %w", err)
	}
	return nil
}

// compare returns the drifted object, or nil when live matches desired.
func (w *Watcher) compare(ctx context.Context, desired *unstructured.Unstructured, ignore []jsondiff.IgnoreRule) (*ferryv1.DriftedObject, error) {
	ref := refOf(desired)
	entry, live, merged, err := w.rm.Diff(ctx, desired.DeepCopy(), ssa.DiffOptions{DriftIgnoreRules: ignore})
	if err != nil {
		return nil, fmt.Errorf("dry-run diff %s: %w", refString(ref), err)
	}
	switch entry.Action {
	case ssa.CreatedAction:
		if w.exists(ctx, desired) {
			return nil, nil
		}
		return &ferryv1.DriftedObject{Ref: ref, Deleted: true, Diff: "object was deleted"}, nil
	case ssa.ConfiguredAction:
		return &ferryv1.DriftedObject{Ref: ref, Diff: Summarize(live, merged), ChangedBy: w.changedBy(ctx, desired)}, nil
	default:
		return nil, nil
	}
}

func (w *Watcher) exists(ctx context.Context, u *unstructured.Unstructured) bool {
	probe := &unstructured.Unstructured{}
	probe.SetGroupVersionKind(u.GroupVersionKind())
	err := w.rm.Client().Get(ctx, types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}, probe)
	return err == nil || !apierrors.IsNotFound(err)
}

// changedBy names the most recent field manager other than Ferry, from
// the live object's managed fields, ignoring status writers.
func (w *Watcher) changedBy(ctx context.Context, desired *unstructured.Unstructured) string {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(desired.GroupVersionKind())
	if err := w.rm.Client().Get(ctx, types.NamespacedName{Namespace: desired.GetNamespace(), Name: desired.GetName()}, live); err != nil {
		return ""
	}
	var (
		who  string
		when time.Time
	)
	for _, mf := range live.GetManagedFields() {
		// Status writes (controllers reporting progress) are not changes
		// to what Ferry declares.
		if mf.Manager == w.opts.FieldManager || mf.Subresource == "status" {
			continue
		}
		// Writes through some subresources (scale) carry no time: they
		// still count, after any timed entry of the same age.
		var at time.Time
		if mf.Time != nil {
			at = mf.Time.Time
		}
		if who == "" || !at.Before(when) {
			who, when = mf.Manager, at
		}
	}
	return who
}

func refOf(u *unstructured.Unstructured) *ferryv1.ObjectRef {
	gvk := u.GroupVersionKind()
	return &ferryv1.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

func refString(r *ferryv1.ObjectRef) string {
	if r.GetNamespace() != "" {
		return r.GetKind() + "/" + r.GetNamespace() + "/" + r.GetName()
	}
	return r.GetKind() + "/" + r.GetName()
}
