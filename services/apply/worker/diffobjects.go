package worker

import (
	"context"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// objectDiffs compares each desired object with its live one by a
// server-side dry run (ssa's Diff, as the drift watch does), in parallel:
// CREATED when there is none, CONFIGURED with a YAML diff, UNCHANGED, or
// FAILED with the API server's refusal. An object whose dry run can only
// fail because its Namespace or CRD is in the same set and not applied
// yet is CREATED. Nothing is written to the cluster.
func (k *kube) objectDiffs(ctx context.Context, objs []*unstructured.Unstructured, ignore []jsondiff.IgnoreRule) []*ferryv1.ObjectDiff {
	defs := definitions(stage(objs))
	out := make([]*ferryv1.ObjectDiff, len(objs))
	parallel(ctx, len(objs), k.workers, func(i int) {
		out[i] = k.objectDiff(ctx, objs[i], ignore, defs)
	})
	for i, d := range out {
		if d == nil { // ctx ended first
			out[i] = &ferryv1.ObjectDiff{Ref: refOf(objs[i]), Action: ferryv1.Action_ACTION_FAILED, Message: "not compared: " + context.Cause(ctx).Error()}
		}
	}
	return out
}

// objectDiff compares one desired object with its live one.
func (k *kube) objectDiff(ctx context.Context, u *unstructured.Unstructured, ignore []jsondiff.IgnoreRule, defs setDefinitions) *ferryv1.ObjectDiff {
	d := &ferryv1.ObjectDiff{Ref: refOf(u)}
	entry, live, merged, err := k.manager.Diff(ctx, u.DeepCopy(), ssa.DiffOptions{DriftIgnoreRules: ignore})
	switch {
	case err != nil && defs.needsSetDefinition(u, err):
		d.Action, d.Diff = ferryv1.Action_ACTION_CREATED, yamlDiff(nil, u)
	case err != nil:
		d.Action, d.Message = ferryv1.Action_ACTION_FAILED, err.Error()
	case entry.Action == ssa.CreatedAction:
		d.Action, d.Diff = ferryv1.Action_ACTION_CREATED, yamlDiff(nil, u)
	case entry.Action == ssa.ConfiguredAction:
		d.Action, d.Diff = ferryv1.Action_ACTION_CONFIGURED, yamlDiff(live, merged)
	case entry.Action == ssa.SkippedAction:
		d.Action, d.Message = ferryv1.Action_ACTION_UNCHANGED, "not compared: the object asks server-side apply to skip it"
	default:
		d.Action = ferryv1.Action_ACTION_UNCHANGED
	}
	return d
}

// pruneDiffs describes the inventory objects a sync would prune: DELETED
// with the live object as the diff, when Ferry owns it; objects already
// gone are left out, and objects Ferry does not own are UNCHANGED with
// the reason prune would give.
func (k *kube) pruneDiffs(ctx context.Context, app string, refs []*ferryv1.ObjectRef) []*ferryv1.ObjectDiff {
	out := make([]*ferryv1.ObjectDiff, len(refs))
	parallel(ctx, len(refs), k.workers, func(i int) {
		live := stub(refs[i])
		err := k.client.Get(ctx, client.ObjectKeyFromObject(live), live)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			out[i] = &ferryv1.ObjectDiff{Ref: refs[i], Action: ferryv1.Action_ACTION_FAILED, Message: err.Error()}
		default:
			if why := k.notOwned(live, app); why != "" {
				out[i] = &ferryv1.ObjectDiff{Ref: refs[i], Action: ferryv1.Action_ACTION_UNCHANGED, Message: "would not be pruned: " + why}
				return
			}
			out[i] = &ferryv1.ObjectDiff{Ref: refs[i], Action: ferryv1.Action_ACTION_DELETED, Diff: yamlDiff(live, nil),
				Message: "in the inventory, no longer desired: would be pruned"}
		}
	})
	kept := out[:0]
	for _, d := range out {
		if d != nil {
			kept = append(kept, d)
		}
	}
	return kept
}
