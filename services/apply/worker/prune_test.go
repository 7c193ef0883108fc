package worker

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// extraDeployment is a second Deployment "worker", dropped from Git later.
const extraDeployment = `
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: worker
          image: registry.k8s.io/pause:3.10
`

// sharedConfigMap is a ConfigMap that a second app takes over.
const sharedConfigMap = `
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
data: {owner: first}
`

func TestPruneRemovesOnlyWhatTheAppOwns(t *testing.T) {
	e := newEnv(t)
	stop := e.startWorker(nil)
	const app, ns = "pruned", "pruned"
	prune := &ferryv1.SyncPolicy{Automated: true, Prune: true}

	rev1 := append(guestbook(ns, 1, 80), extraDeployment+sharedConfigMap...)
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "p1", Sync: prune}, rev1)
	wantPhase(t, e.result(60*time.Second), "p1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()

	// Objects Ferry must never prune: one made by hand in the same
	// namespace, and one with Ferry's labels but another app's.
	byHand := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-hand"}}
	otherApp := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other-app",
		Labels: map[string]string{LabelManagedBy: "ferry", LabelApp: "other"}}}
	for _, o := range []client.Object{byHand, otherApp} {
		if err := e.kube.Create(t.Context(), o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
	// Another app takes over "shared": it is no longer pruned-app's.
	e.publishState(&ferryv1.DesiredState{App: "taker", Namespace: ns, Revision: "t1", Sync: prune}, []byte(sharedConfigMap))
	wantPhase(t, e.result(60*time.Second), "t1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()

	// A restarted worker knows from the inventory what p1 applied.
	stop()
	e.startWorker(nil)
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "p2", Sync: prune}, guestbook(ns, 1, 80))
	r := e.result(60 * time.Second)
	wantPhase(t, r, "p2", ferryv1.Phase_PHASE_SUCCEEDED)
	got := actions(r)
	if got["Deployment/worker"] != ferryv1.Action_ACTION_DELETED {
		t.Errorf("Deployment/worker: action %s, want DELETED (all: %v)", got["Deployment/worker"], got)
	}
	if got["ConfigMap/shared"] != ferryv1.Action_ACTION_SKIPPED {
		t.Errorf("ConfigMap/shared taken over by another app: action %s, want SKIPPED (all: %v)", got["ConfigMap/shared"], got)
	}
	if _, listed := got["ConfigMap/by-hand"]; listed {
		t.Errorf("an object made by hand appears in the result: %v", got)
	}
	e.settled()

	var dep appsv1.Deployment
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "worker"}, &dep); !apierrors.IsNotFound(err) && dep.DeletionTimestamp == nil {
		t.Errorf("pruned deployment still there: err %v", err)
	}
	for _, name := range []string{"by-hand", "other-app", "shared", "web-config"} {
		var cm corev1.ConfigMap
		if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
			t.Errorf("configmap %s: %v, want untouched", name, err)
		}
	}
	inv := inventoryOf(t, e, app)
	if len(inv) != 4 {
		t.Errorf("inventory of %s lists %d objects, want 4: %v", app, len(inv), inv)
	}
}

func TestRestartedWorkerSkipsAppliedDigestFromInventory(t *testing.T) {
	e := newEnv(t)
	stop := e.startWorker(nil)
	const app, ns = "digest", "digest"
	data := guestbook(ns, 1, 80)
	e.publish(app, ns, "d1", data)
	wantPhase(t, e.result(60*time.Second), "d1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()
	stop()

	var before appsv1.Deployment
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &before); err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	e.startWorker(nil)
	e.publish(app, ns, "d1", data)
	r := e.result(30 * time.Second)
	wantPhase(t, r, "d1", ferryv1.Phase_PHASE_SUCCEEDED)
	if r.GetMessage() != "unchanged: digest already applied" {
		t.Errorf("message %q, want the digest fast path", r.GetMessage())
	}
	if len(r.GetObjects()) != 4 {
		t.Errorf("objects %d, want 4 from the inventory", len(r.GetObjects()))
	}
	var after appsv1.Deployment
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &after); err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if after.Generation != before.Generation {
		t.Errorf("deployment generation %d → %d on an unchanged digest", before.Generation, after.Generation)
	}
	e.settled()
}

// inventoryOf returns the object lines of app's inventory ConfigMap.
func inventoryOf(t *testing.T, e *env, app string) []string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName(testCluster, app)}, &cm); err != nil {
		t.Fatalf("get inventory: %v", err)
	}
	return strings.Fields(cm.Data[inventoryObjects])
}
