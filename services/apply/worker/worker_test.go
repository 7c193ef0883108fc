package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// guestbook is a Namespace plus a ConfigMap, Deployment and Service that
// take the app's default namespace.
func guestbook(ns string, replicas, port int) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: %[3]d
      targetPort: 8080
`, ns, replicas, port)
}

// actions maps "Kind/name" to the action of each object in r.
func actions(r *ferryv1.SyncResult) map[string]ferryv1.Action {
	m := map[string]ferryv1.Action{}
	for _, o := range r.GetObjects() {
		m[o.GetRef().GetKind()+"/"+o.GetRef().GetName()] = o.GetAction()
	}
	return m
}

// wantActions fails unless r lists exactly want.
func wantActions(t *testing.T, r *ferryv1.SyncResult, want map[string]ferryv1.Action) {
	t.Helper()
	got := actions(r)
	if len(got) != len(want) {
		t.Errorf("objects = %v, want %v", got, want)
	}
	for k, a := range want {
		if got[k] != a {
			t.Errorf("%s: action %s, want %s (all: %v)", k, got[k], a, got)
		}
	}
}

// wantPhase fails unless r is for revision and in phase.
func wantPhase(t *testing.T, r *ferryv1.SyncResult, revision string, phase ferryv1.Phase) {
	t.Helper()
	if r.GetRevision() != revision || r.GetPhase() != phase {
		t.Fatalf("result revision %q phase %s (%s), want revision %q phase %s", r.GetRevision(), r.GetPhase(), r.GetMessage(), revision, phase)
	}
}

func TestApplyCreateConfigureUnchanged(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "guestbook", "guestbook"

	ds := e.publish(app, ns, "rev1", guestbook(ns, 1, 80))
	r := e.result(30 * time.Second)
	wantPhase(t, r, "rev1", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:      ferryv1.Action_ACTION_CREATED,
		"ConfigMap/web-config": ferryv1.Action_ACTION_CREATED,
		"Deployment/web":       ferryv1.Action_ACTION_CREATED,
		"Service/web":          ferryv1.Action_ACTION_CREATED,
	})
	if r.GetApp() != app || r.GetCluster() != testCluster || r.GetDigest() != ds.GetDigest() || r.GetPushId() != "push-rev1" {
		t.Errorf("result identity = %s/%s digest %s push %s", r.GetCluster(), r.GetApp(), r.GetDigest(), r.GetPushId())
	}
	if r.GetReceivedUnixNano() != ds.GetReceivedUnixNano() || r.GetStartedUnixNano() == 0 || r.GetFinishedUnixNano() < r.GetStartedUnixNano() {
		t.Errorf("timings received %d started %d finished %d", r.GetReceivedUnixNano(), r.GetStartedUnixNano(), r.GetFinishedUnixNano())
	}
	e.settled()

	var cm corev1.ConfigMap
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-config"}, &cm); err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	if cm.Labels[LabelManagedBy] != "ferry" || cm.Labels[LabelApp] != app {
		t.Errorf("configmap labels %v annotations %v", cm.Labels, cm.Annotations)
	}
	if !managedBy(cm.ManagedFields, DefaultFieldManager) {
		t.Errorf("configmap not managed by field manager %q: %v", DefaultFieldManager, cm.ManagedFields)
	}

	// A new revision with more replicas configures the Deployment.
	e.publish(app, ns, "rev2", guestbook(ns, 3, 80))
	r = e.result(30 * time.Second)
	wantPhase(t, r, "rev2", ferryv1.Phase_PHASE_SUCCEEDED)
	for ref, a := range actions(r) {
		want := ferryv1.Action_ACTION_UNCHANGED
		if ref == "Deployment/web" {
			want = ferryv1.Action_ACTION_CONFIGURED
		}
		if a != want {
			t.Errorf("%s: action %s on rev2, want %s", ref, a, want)
		}
	}
	var dep appsv1.Deployment
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
		t.Errorf("deployment replicas = %v, want 3", dep.Spec.Replicas)
	}
	e.settled()

	// The same digest again takes the fast path: every object unchanged.
	rv := dep.ResourceVersion
	e.publish(app, ns, "rev2", guestbook(ns, 3, 80))
	r = e.result(10 * time.Second)
	wantPhase(t, r, "rev2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:      ferryv1.Action_ACTION_UNCHANGED,
		"ConfigMap/web-config": ferryv1.Action_ACTION_UNCHANGED,
		"Deployment/web":       ferryv1.Action_ACTION_UNCHANGED,
		"Service/web":          ferryv1.Action_ACTION_UNCHANGED,
	})
	// The digest fast path, not a full diff that found nothing to change.
	if !strings.HasPrefix(r.GetMessage(), "unchanged: digest already applied") {
		t.Errorf("message %q, want the digest fast path", r.GetMessage())
	}
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if dep.ResourceVersion != rv {
		t.Errorf("deployment resourceVersion changed %s → %s on an unchanged digest", rv, dep.ResourceVersion)
	}
	e.settled()
}

func TestInvalidObjectFailsAndIsTerminated(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const ns = "invalid"

	e.publish("broken", ns, "bad1", guestbook(ns, 1, 70000))
	r := e.result(30 * time.Second)
	wantPhase(t, r, "bad1", ferryv1.Phase_PHASE_FAILED)
	if !strings.Contains(r.GetMessage(), "70000") {
		t.Errorf("result message %q does not carry the API server's message", r.GetMessage())
	}
	var svc *ferryv1.ObjectResult
	for _, o := range r.GetObjects() {
		if o.GetRef().GetKind() == "Service" {
			svc = o
		}
	}
	if svc == nil || svc.GetAction() != ferryv1.Action_ACTION_FAILED || !strings.Contains(svc.GetMessage(), "must be between 1 and 65535") {
		t.Errorf("service result = %v, want FAILED with the API server's validation message", svc)
	}
	e.settled()
	// Terminated: not redelivered, so no second result even after the first retry delay.
	e.noResult(2 * retryInitial)
	if info := e.consumerInfo(); info.NumRedelivered != 0 || info.NumAckPending != 0 {
		t.Errorf("consumer redelivered %d, ack pending %d; want 0, 0", info.NumRedelivered, info.NumAckPending)
	}
	var got corev1.Service
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &got); err == nil {
		t.Errorf("invalid service exists in the cluster")
	}
}

func TestRestartedWorkerPicksUpMissedState(t *testing.T) {
	e := newEnv(t)
	const app, ns = "restart", "restart"

	stop := e.startWorker(nil)
	e.publish(app, ns, "r1", guestbook(ns, 1, 80))
	wantPhase(t, e.result(30*time.Second), "r1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()
	stop()

	e.publish(app, ns, "r2", guestbook(ns, 2, 80))
	e.noResult(500 * time.Millisecond)
	if info := e.consumerInfo(); info.NumPending != 1 {
		t.Errorf("consumer pending %d while the worker is down, want 1", info.NumPending)
	}

	e.startWorker(nil)
	r := e.result(30 * time.Second)
	wantPhase(t, r, "r2", ferryv1.Phase_PHASE_SUCCEEDED)
	if a := actions(r)["Deployment/web"]; a != ferryv1.Action_ACTION_CONFIGURED {
		t.Errorf("Deployment/web: action %s, want configured", a)
	}
	e.settled()
}

func TestUnreachableClusterRetriesWithoutResults(t *testing.T) {
	e := newEnv(t)
	cfg := &rest.Config{Host: "https://127.0.0.1:1", Timeout: time.Second}
	e.startWorker(cfg)

	e.publish("offline", "offline", "o1", guestbook("offline", 1, 80))
	e.eventually("message redelivered", 10*time.Second, func() error {
		if n := e.consumerInfo().NumRedelivered; n < 1 {
			return fmt.Errorf("redelivered %d", n)
		}
		return nil
	})
	e.noResult(100 * time.Millisecond)
	if info := e.consumerInfo(); info.AckFloor.Stream != 0 {
		t.Errorf("ack floor %d, want 0 (retried, neither acked nor terminated)", info.AckFloor.Stream)
	}
}

func TestRevisionsOfOneAppApplyInOrder(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "burst", "burst"

	const n = 6
	for i := 1; i <= n; i++ {
		e.publish(app, ns, fmt.Sprintf("b%d", i), guestbook(ns, i, 80))
	}
	seen := map[string]ferryv1.Phase{}
	for len(seen) < n {
		r := e.result(30 * time.Second)
		if _, dup := seen[r.GetRevision()]; dup {
			t.Fatalf("second result for revision %s", r.GetRevision())
		}
		seen[r.GetRevision()] = r.GetPhase()
		if p := r.GetPhase(); p != ferryv1.Phase_PHASE_SUCCEEDED && p != ferryv1.Phase_PHASE_SUPERSEDED {
			t.Errorf("revision %s: phase %s (%s)", r.GetRevision(), p, r.GetMessage())
		}
	}
	if p := seen[fmt.Sprintf("b%d", n)]; p != ferryv1.Phase_PHASE_SUCCEEDED {
		t.Errorf("newest revision: phase %s, want SUCCEEDED (all: %v)", p, seen)
	}
	e.settled()
	var dep appsv1.Deployment
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != n {
		t.Errorf("deployment replicas = %v, want %d (the newest revision)", dep.Spec.Replicas, n)
	}
	t.Logf("phases: %v", seen)
}

func TestDeletedAppWithPruneDeletesItsObjects(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "gone", "gone"

	e.publish(app, ns, "g1", guestbook(ns, 1, 80))
	wantPhase(t, e.result(30*time.Second), "g1", ferryv1.Phase_PHASE_SUCCEEDED)

	e.publishState(&ferryv1.DesiredState{
		App: app, Namespace: ns, Revision: "g2", Deleted: true,
		Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true},
	}, nil)
	r := e.result(30 * time.Second)
	wantPhase(t, r, "g2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:      ferryv1.Action_ACTION_DELETED,
		"ConfigMap/web-config": ferryv1.Action_ACTION_DELETED,
		"Deployment/web":       ferryv1.Action_ACTION_DELETED,
		"Service/web":          ferryv1.Action_ACTION_DELETED,
	})
	e.settled()
	var cm corev1.ConfigMap
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-config"}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("configmap after prune: err %v, want not found", err)
	}
}

// managedBy reports whether manager owns fields through server-side apply.
func managedBy(fields []metav1.ManagedFieldsEntry, manager string) bool {
	for _, f := range fields {
		if f.Manager == manager && f.Operation == "Apply" {
			return true
		}
	}
	return false
}
