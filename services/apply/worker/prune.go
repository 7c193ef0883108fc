package worker

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// prune deletes the objects of refs that app owns: each must carry Ferry's
// managed-by label, app's label and a server-side apply entry of Ferry's
// field manager. Anything else (an object re-created by hand under the
// same name, or taken over by another app) is SKIPPED and kept. Namespaced
// objects go first, then cluster-scoped ones, and CRDs and Namespaces
// last, so a definition never takes other objects with it before they
// are checked. The error lists the deletions that failed.
func (k *kube) prune(ctx context.Context, app string, refs []*ferryv1.ObjectRef) ([]*ferryv1.ObjectResult, error) {
	results := make([]*ferryv1.ObjectResult, len(refs))
	var groups [3][]int
	for i, ref := range refs {
		groups[pruneOrder(ref)] = append(groups[pruneOrder(ref)], i)
	}
	for _, idx := range groups {
		parallel(ctx, len(idx), k.workers, func(j int) {
			i := idx[j]
			results[i] = k.pruneOne(ctx, app, refs[i])
		})
	}
	var failed []string
	for i, r := range results {
		if r == nil {
			results[i] = &ferryv1.ObjectResult{Ref: refs[i], Action: ferryv1.Action_ACTION_SKIPPED, Message: "not pruned: the sync was interrupted"}
			continue
		}
		if r.GetAction() == ferryv1.Action_ACTION_FAILED {
			failed = append(failed, fmt.Sprintf("%s/%s: %s", r.GetRef().GetKind(), r.GetRef().GetName(), r.GetMessage()))
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("prune failed for %d object(s): %s", len(failed), strings.Join(failed, "; "))
	}
	return results, ctx.Err()
}

// pruneOrder puts namespaced objects first (0), then other cluster-scoped
// ones (1), then CRDs and Namespaces (2).
func pruneOrder(ref *ferryv1.ObjectRef) int {
	switch {
	case ref.GetNamespace() != "":
		return 0
	case ref.GetKind() == "Namespace" && ref.GetGroup() == "",
		ref.GetKind() == "CustomResourceDefinition" && ref.GetGroup() == "apiextensions.k8s.io":
		return 2
	default:
		return 1
	}
}

// pruneOne deletes one object if app owns it.
func (k *kube) pruneOne(ctx context.Context, app string, ref *ferryv1.ObjectRef) *ferryv1.ObjectResult {
	r := &ferryv1.ObjectResult{Ref: ref, Health: ferryv1.Health_HEALTH_UNKNOWN}
	live := stub(ref)
	err := k.client.Get(ctx, client.ObjectKeyFromObject(live), live)
	switch {
	case apierrors.IsNotFound(err):
		r.Action, r.Message = ferryv1.Action_ACTION_DELETED, "already gone"
		return r
	case err != nil:
		r.Action, r.Message = ferryv1.Action_ACTION_FAILED, err.Error()
		return r
	}
	if why := k.notOwned(live, app); why != "" {
		r.Action, r.Message = ferryv1.Action_ACTION_SKIPPED, "not pruned: "+why
		return r
	}
	if live.GetDeletionTimestamp() != nil {
		r.Action, r.Message = ferryv1.Action_ACTION_DELETED, "already being deleted"
		return r
	}
	uid := live.GetUID()
	err = k.client.Delete(ctx, live,
		client.Preconditions{UID: &uid},
		client.PropagationPolicy(metav1.DeletePropagationBackground))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		r.Action = ferryv1.Action_ACTION_DELETED
	case apierrors.IsConflict(err): // replaced since we read it: not ours to judge
		r.Action, r.Message = ferryv1.Action_ACTION_SKIPPED, "not pruned: replaced while pruning"
	default:
		r.Action, r.Message = ferryv1.Action_ACTION_FAILED, err.Error()
	}
	return r
}

// notOwned says why app does not own live, or "" when it does.
func (k *kube) notOwned(live *unstructured.Unstructured, app string) string {
	labels := live.GetLabels()
	switch {
	case labels[LabelManagedBy] != managedByValue:
		return fmt.Sprintf("no %s=%s label", LabelManagedBy, managedByValue)
	case labels[LabelApp] != app:
		return fmt.Sprintf("labelled for app %q", labels[LabelApp])
	case labels[LabelCluster] != "" && labels[LabelCluster] != k.cluster:
		// Objects applied before this label existed have none.
		return fmt.Sprintf("applied by the worker of Ferry cluster %q", labels[LabelCluster])
	}
	for _, f := range live.GetManagedFields() {
		if f.Manager == k.fieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			return ""
		}
	}
	return fmt.Sprintf("field manager %q never applied it", k.fieldManager)
}
