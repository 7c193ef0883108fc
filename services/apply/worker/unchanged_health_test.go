package worker

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// settledApp is a Namespace, two ConfigMaps and a Service: objects that
// are Current as soon as they exist, so their health does not depend on
// kubelets. port outside 1–65535 makes the Service invalid.
func settledApp(ns string, port int) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
data:
  greeting: hello
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
data:
  greeting: world
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: %[2]d
      targetPort: 8080
`, ns, port)
}

// wantHealth fails unless r and each of its objects have the health want.
func wantHealth(t *testing.T, r *ferryv1.SyncResult, want ferryv1.Health) {
	t.Helper()
	if r.GetHealth() != want {
		t.Errorf("result health %s (%s), want %s", r.GetHealth(), r.GetMessage(), want)
	}
	for _, o := range r.GetObjects() {
		if o.GetHealth() != want {
			t.Errorf("%s/%s: health %s (%s), want %s", o.GetRef().GetKind(), o.GetRef().GetName(), o.GetHealth(), o.GetMessage(), want)
		}
	}
}

// An unchanged digest reports the health its objects have now, read from
// the drift watch's cache: re-pushing the last good content after a failed
// revision is Healthy, not Unknown, both when the inventory says the
// digest is applied (the failure dropped what the process remembered) and
// when the process remembers it; and an object deleted since shows.
func TestUnchangedDigestReportsCurrentHealth(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "unchanged-health", "unchanged-health"
	good := settledApp(ns, 80)

	ds := e.publish(app, ns, "h1", good)
	r := e.result(60 * time.Second)
	wantPhase(t, r, "h1", ferryv1.Phase_PHASE_SUCCEEDED)
	wantHealth(t, r, ferryv1.Health_HEALTH_HEALTHY)
	e.settled()

	e.publish(app, ns, "h2", settledApp(ns, 70000))
	wantPhase(t, e.result(30*time.Second), "h2", ferryv1.Phase_PHASE_FAILED)
	e.settled()

	// The last good content again under a new revision: the inventory
	// still records its digest, so nothing is applied.
	ds3 := e.publish(app, ns, "h3", good)
	if ds3.GetDigest() != ds.GetDigest() {
		t.Fatalf("digest %s of the same content, want %s", ds3.GetDigest(), ds.GetDigest())
	}
	r = e.result(30 * time.Second)
	wantPhase(t, r, "h3", ferryv1.Phase_PHASE_SUCCEEDED)
	if r.GetMessage() != "unchanged: digest already applied" {
		t.Errorf("message %q, want the digest fast path", r.GetMessage())
	}
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:  ferryv1.Action_ACTION_UNCHANGED,
		"ConfigMap/first":  ferryv1.Action_ACTION_UNCHANGED,
		"ConfigMap/second": ferryv1.Action_ACTION_UNCHANGED,
		"Service/web":      ferryv1.Action_ACTION_UNCHANGED,
	})
	wantHealth(t, r, ferryv1.Health_HEALTH_HEALTHY)
	e.settled()

	// Once more: now the process remembers the digest.
	e.publish(app, ns, "h4", good)
	r = e.result(30 * time.Second)
	wantPhase(t, r, "h4", ferryv1.Phase_PHASE_SUCCEEDED)
	if r.GetMessage() != "unchanged: digest already applied" {
		t.Errorf("message %q, want the digest fast path", r.GetMessage())
	}
	wantHealth(t, r, ferryv1.Health_HEALTH_HEALTHY)
	e.settled()

	// Deleted behind Ferry's back (self-heal is off): the health is
	// computed, not remembered, so the next unchanged digest says so once
	// the watch has seen the deletion.
	cm := &corev1.ConfigMap{}
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "second"}, cm); err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	if err := e.kube.Delete(t.Context(), cm); err != nil {
		t.Fatalf("delete configmap: %v", err)
	}
	n := 4
	e.eventually("unchanged digest reports the deleted ConfigMap", 30*time.Second, func() error {
		n++
		rev := fmt.Sprintf("h%d", n)
		e.publish(app, ns, rev, good)
		r := e.result(30 * time.Second)
		wantPhase(t, r, rev, ferryv1.Phase_PHASE_SUCCEEDED)
		e.settled()
		if r.GetHealth() != ferryv1.Health_HEALTH_DEGRADED {
			return fmt.Errorf("health %s", r.GetHealth())
		}
		for _, o := range r.GetObjects() {
			want := ferryv1.Health_HEALTH_HEALTHY
			if o.GetRef().GetName() == "second" {
				want = ferryv1.Health_HEALTH_DEGRADED
			}
			if o.GetHealth() != want {
				t.Errorf("%s/%s: health %s (%s), want %s", o.GetRef().GetKind(), o.GetRef().GetName(), o.GetHealth(), o.GetMessage(), want)
			}
		}
		return nil
	})
}
