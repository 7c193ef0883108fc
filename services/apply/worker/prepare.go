package worker

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferrycd/ferry/pkg/manifest"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Labels and annotations Ferry puts on every object it applies.
const (
	// LabelManagedBy marks objects applied by Ferry.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelApp names the Ferry app an object belongs to.
	LabelApp = ownerGroup + "/app"
	// LabelCluster names the Ferry cluster whose worker applied an object.
	LabelCluster = ownerGroup + "/cluster"
	// managedByValue is the value of LabelManagedBy.
	managedByValue = "ferry"
)

// prepare parses the manifests of ds and readies them for apply: the app's
// namespace on namespaced objects that have none, and the Ferry labels.
// No per-revision marker is written: it would patch every object on every
// revision. The revision is reported in the SyncResult. Parse errors wrap manifest.ErrInvalid.
func (k *kube) prepare(ds *ferryv1.DesiredState, data []byte) ([]*unstructured.Unstructured, error) {
	objs, err := manifest.Parse(ds.GetApp(), data)
	if err != nil {
		return nil, err
	}
	scopes := crdScopes(objs)
	for _, u := range objs {
		if u.GetNamespace() == "" {
			ns, err := k.namespaced(u, scopes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", manifest.Ref(u), err)
			}
			if ns {
				if ds.GetNamespace() == "" {
					return nil, fmt.Errorf("%w: %s is namespaced, has no namespace and the app has no default namespace", manifest.ErrInvalid, manifest.Ref(u))
				}
				u.SetNamespace(ds.GetNamespace())
			}
		}
		label(u, ds.GetApp(), k.cluster)
	}
	return objs, nil
}

// label sets Ferry's labels on u: managed by Ferry, for app, applied by
// cluster's worker.
func label(u *unstructured.Unstructured, app, cluster string) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = managedByValue
	labels[LabelApp] = app
	labels[LabelCluster] = cluster
	u.SetLabels(labels)
}

// crdScopes maps the kinds defined by CustomResourceDefinitions in objs to
// whether they are namespaced, for custom resources applied in the same
// bundle as their CRD.
func crdScopes(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	scopes := map[schema.GroupKind]bool{}
	for _, u := range objs {
		if u.GetKind() != "CustomResourceDefinition" || u.GroupVersionKind().Group != "apiextensions.k8s.io" {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		if group != "" && kind != "" {
			scopes[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return scopes
}
