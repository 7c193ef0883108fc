package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// AnnotationCreatedFor is set on a namespace the worker created for an
// app whose sync policy says createNamespace. Such a namespace is not in
// the app's inventory, so it is never pruned, as Argo CD leaves the
// namespaces its CreateNamespace option made.
const AnnotationCreatedFor = ownerGroup + "/created-for-app"

// namespaceToCreate returns the Namespace a sync of ds must create: the
// app's namespace when its sync policy says createNamespace, its
// manifests do not declare that Namespace and it does not exist. It is
// nil otherwise. The object goes through the dry-run gate and the first
// stage with the rest of the set, as a Namespace among the manifests
// would, so the app's objects in it wait for it.
func (k *kube) namespaceToCreate(ctx context.Context, ds *ferryv1.DesiredState, objs []*unstructured.Unstructured) (*unstructured.Unstructured, error) {
	name := ds.GetNamespace()
	if !ds.GetSync().GetCreateNamespace() || name == "" {
		return nil, nil
	}
	for _, u := range objs {
		if utils.IsNamespace(u) && u.GetName() == name {
			return nil, nil
		}
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": name},
	}}
	live := ns.DeepCopy()
	switch err := k.client.Get(ctx, client.ObjectKey{Name: name}, live); {
	case err == nil:
		return nil, nil
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("look up namespace %s for createNamespace: %w", name, err)
	}
	ns.SetAnnotations(map[string]string{AnnotationCreatedFor: ds.GetApp()})
	return ns, nil
}

// markCreatedNamespace notes on ns's result that Ferry created it for
// the app and will leave it in place.
func markCreatedNamespace(results []*ferryv1.ObjectResult, ns *unstructured.Unstructured) {
	for _, r := range results {
		ref := r.GetRef()
		if ref.GetKind() != "Namespace" || ref.GetGroup() != "" || ref.GetName() != ns.GetName() {
			continue
		}
		if r.GetAction() == ferryv1.Action_ACTION_CREATED {
			// Stage 1 waited for it to be Active.
			r.Health = ferryv1.Health_HEALTH_HEALTHY
			r.Message = "created by sync.createNamespace; never pruned"
		}
	}
}

// namespaceHint adds what to do to the API server's answer when u's
// namespace does not exist.
func namespaceHint(u *unstructured.Unstructured, err error) error {
	ns := u.GetNamespace()
	if ns == "" || !apierrors.IsNotFound(err) {
		return err
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err
	}
	if d := status.Status().Details; d == nil || d.Kind != "namespaces" || d.Name != ns {
		return err
	}
	return fmt.Errorf("%w: add a Namespace %s to the app's manifests, or set sync.createNamespace in ferry.yaml", err, ns)
}
