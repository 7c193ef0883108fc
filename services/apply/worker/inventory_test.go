package worker

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// twoConfigMaps is an app of ConfigMaps "keep" and "drop".
const twoConfigMaps = `apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: drop}
`

// oneConfigMap is twoConfigMaps without "drop".
const oneConfigMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
`

// TestTwoFerryClustersOnOneKubernetesCluster: staging and qa are two
// Ferry clusters in namespaces of one Kubernetes cluster, with one app
// of the same name. Each worker keeps its own inventory, so staging's
// prune never deletes qa's objects, and its objects say which worker
// applied them.
func TestTwoFerryClustersOnOneKubernetesCluster(t *testing.T) {
	e := newEnv(t)
	e.startWorkerWith(nil, Options{Cluster: "staging"})
	e.startWorkerWith(nil, Options{Cluster: "qa"})
	const app = "shared-name"
	prune := &ferryv1.SyncPolicy{Automated: true, Prune: true, CreateNamespace: true}

	for _, cl := range []string{"staging", "qa"} {
		e.publishState(&ferryv1.DesiredState{Cluster: cl, App: app, Namespace: "ns-" + cl, Revision: "r1-" + cl, Sync: prune},
			[]byte(twoConfigMaps))
	}
	for range 2 {
		r := e.result(60 * time.Second)
		wantPhase(t, r, "r1-"+r.GetCluster(), ferryv1.Phase_PHASE_SUCCEEDED)
	}
	// staging drops a ConfigMap; qa keeps its own.
	e.publishState(&ferryv1.DesiredState{Cluster: "staging", App: app, Namespace: "ns-staging", Revision: "r2-staging", Sync: prune},
		[]byte(oneConfigMap))
	r := e.result(60 * time.Second)
	wantPhase(t, r, "r2-staging", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{"ConfigMap/keep": ferryv1.Action_ACTION_UNCHANGED, "ConfigMap/drop": ferryv1.Action_ACTION_DELETED})

	for ns, want := range map[string]map[string]bool{"ns-staging": {"keep": true, "drop": false}, "ns-qa": {"keep": true, "drop": true}} {
		for name, exists := range want {
			var cm corev1.ConfigMap
			err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm)
			switch {
			case exists && err != nil:
				t.Errorf("%s/%s: %v, want it kept", ns, name, err)
			case !exists && !apierrors.IsNotFound(err):
				t.Errorf("%s/%s: %v, want it pruned", ns, name, err)
			case exists && cm.Labels[LabelCluster] != ns[len("ns-"):]:
				t.Errorf("%s/%s labelled for cluster %q", ns, name, cm.Labels[LabelCluster])
			}
		}
	}
	for _, cl := range []string{"staging", "qa"} {
		var inv corev1.ConfigMap
		if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName(cl, app)}, &inv); err != nil {
			t.Errorf("inventory of %s: %v", cl, err)
		} else if inv.Data[inventoryRevision] != "r"+map[string]string{"staging": "2", "qa": "1"}[cl]+"-"+cl {
			t.Errorf("inventory of %s at %q", cl, inv.Data[inventoryRevision])
		}
	}
}

// TestLegacyInventoryIsMoved: an inventory under the name used before
// inventories were per cluster still drives prune, and is moved to the
// per-cluster name.
func TestLegacyInventoryIsMoved(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "old-inventory", "old-inventory"
	sync := &ferryv1.SyncPolicy{Automated: true, Prune: true, CreateNamespace: true}

	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "o1", Sync: sync}, []byte(twoConfigMaps))
	wantPhase(t, e.result(60*time.Second), "o1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()

	// Rename the inventory to its legacy name, as an older worker left it.
	var inv corev1.ConfigMap
	key := client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName(testCluster, app)}
	if err := e.kube.Get(t.Context(), key, &inv); err != nil {
		t.Fatalf("inventory: %v", err)
	}
	legacy := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: InventoryNamespace, Name: legacyInventoryName(app),
		Labels: map[string]string{LabelManagedBy: managedByValue, LabelInventory: app}}, Data: inv.Data}
	if err := e.kube.Create(t.Context(), legacy); err != nil {
		t.Fatalf("create legacy inventory: %v", err)
	}
	if err := e.kube.Delete(t.Context(), &inv); err != nil {
		t.Fatalf("delete inventory: %v", err)
	}

	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "o2", Sync: sync}, []byte(oneConfigMap))
	r := e.result(60 * time.Second)
	wantPhase(t, r, "o2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{"ConfigMap/keep": ferryv1.Action_ACTION_UNCHANGED, "ConfigMap/drop": ferryv1.Action_ACTION_DELETED})
	if err := e.kube.Get(t.Context(), key, &inv); err != nil || inv.Data[inventoryRevision] != "o2" {
		t.Errorf("per-cluster inventory after the move: %v, revision %q", err, inv.Data[inventoryRevision])
	}
	err := e.kube.Get(t.Context(), client.ObjectKeyFromObject(legacy), &corev1.ConfigMap{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("legacy inventory: %v, want it deleted", fmt.Sprint(err))
	}
}
