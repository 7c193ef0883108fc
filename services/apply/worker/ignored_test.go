package worker

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// scaledApp is a Namespace and two Deployments, "web" (which the app's
// ignore rule names) and "other" (which it does not), both with replicas
// and a tier label on their pod template.
func scaledApp(ns string, webReplicas, otherReplicas int, tier string) []byte {
	dep := func(name string, replicas int) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s, tier: %[3]s}
    spec:
      containers:
        - name: %[1]s
          image: registry.k8s.io/pause:3.10
`, name, replicas, tier)
	}
	return fmt.Appendf(nil, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n---\n%s---\n%s", ns, dep("web", webReplicas), dep("other", otherReplicas))
}

// publishIgnoring publishes the app's revision with the ignore rule of an
// HPA-scaled Deployment "web": its /spec/replicas is not Ferry's.
func (e *env) publishIgnoring(app, ns, revision string, data []byte) {
	e.t.Helper()
	e.publishState(&ferryv1.DesiredState{
		App: app, Namespace: ns, Revision: revision,
		Sync: &ferryv1.SyncPolicy{Automated: true},
		IgnoreDifferences: []*ferryv1.IgnoreRule{{
			Group: "apps", Kind: "Deployment", Name: "web", JsonPointers: []string{"/spec/replicas"},
		}},
	}, data)
}

// scaleAsHPA sets a Deployment's replicas with field manager "hpa", as an
// autoscaler would, taking the field from Ferry.
func (e *env) scaleAsHPA(ns, name string, replicas int64) {
	e.t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"replicas": replicas},
	}}
	if err := e.kube.Patch(e.t.Context(), u, client.Apply, client.FieldOwner("hpa"), client.ForceOwnership); err != nil {
		e.t.Fatalf("scale %s/%s: %v", ns, name, err)
	}
}

// deployment reads a Deployment.
func (e *env) deployment(ns, name string) *appsv1.Deployment {
	e.t.Helper()
	var dep appsv1.Deployment
	if err := e.kube.Get(e.t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &dep); err != nil {
		e.t.Fatalf("get deployment %s/%s: %v", ns, name, err)
	}
	return &dep
}

// wantReplicas fails unless dep has replicas n.
func wantReplicas(t *testing.T, dep *appsv1.Deployment, n int32) {
	t.Helper()
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != n {
		got := "unset"
		if dep.Spec.Replicas != nil {
			got = fmt.Sprint(*dep.Spec.Replicas)
		}
		t.Errorf("deployment %s replicas = %s, want %d", dep.Name, got, n)
	}
}

func TestNewRevisionKeepsIgnoredLiveValues(t *testing.T) {
	e := newEnv(t)
	e.startWorkerWith(nil, Options{HealthTimeout: -1})
	const app, ns = "scaled", "scaled"

	// Created: Git's replicas are the start value, ignored or not.
	e.publishIgnoring(app, ns, "rev1", scaledApp(ns, 2, 2, "v1"))
	r := e.result(30 * time.Second)
	wantPhase(t, r, "rev1", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:  ferryv1.Action_ACTION_CREATED,
		"Deployment/web":   ferryv1.Action_ACTION_CREATED,
		"Deployment/other": ferryv1.Action_ACTION_CREATED,
	})
	wantReplicas(t, e.deployment(ns, "web"), 2)
	wantReplicas(t, e.deployment(ns, "other"), 2)
	e.settled()

	e.scaleAsHPA(ns, "web", 5)
	e.scaleAsHPA(ns, "other", 5)

	// A revision that changes the pod template and still says 2 replicas.
	e.publishIgnoring(app, ns, "rev2", scaledApp(ns, 2, 2, "v2"))
	r = e.result(30 * time.Second)
	wantPhase(t, r, "rev2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:  ferryv1.Action_ACTION_UNCHANGED,
		"Deployment/web":   ferryv1.Action_ACTION_CONFIGURED,
		"Deployment/other": ferryv1.Action_ACTION_CONFIGURED,
	})
	web := e.deployment(ns, "web")
	wantReplicas(t, web, 5) // the HPA's value stays
	if tier := web.Spec.Template.Labels["tier"]; tier != "v2" {
		t.Errorf("web pod template tier = %q, want v2 (the rest of rev2 applied)", tier)
	}
	if !managesReplicas(web, "hpa") {
		t.Errorf("hpa no longer manages web's replicas: %v", web.ManagedFields)
	}
	other := e.deployment(ns, "other")
	wantReplicas(t, other, 2) // no rule names it: Git's value is taken back
	if tier := other.Spec.Template.Labels["tier"]; tier != "v2" {
		t.Errorf("other pod template tier = %q, want v2", tier)
	}
	e.settled()
}

func TestIgnoredOnlyDifferenceIsUnchanged(t *testing.T) {
	e := newEnv(t)
	e.startWorkerWith(nil, Options{HealthTimeout: -1})
	const app, ns = "scaled-only", "scaled-only"

	e.publishIgnoring(app, ns, "rev1", scaledApp(ns, 2, 2, "v1"))
	wantPhase(t, e.result(30*time.Second), "rev1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()
	e.scaleAsHPA(ns, "web", 5)
	// The deployment controller writes web's status as the new pods come
	// up: take the resourceVersion once it has settled.
	var rv string
	e.eventually("web settled at 5 ready replicas", 30*time.Second, func() error {
		d := e.deployment(ns, "web")
		if d.Status.ObservedGeneration != d.Generation || d.Status.ReadyReplicas != 5 || d.Status.UpdatedReplicas != 5 || d.Status.AvailableReplicas != 5 {
			return fmt.Errorf("status %+v at generation %d", d.Status, d.Generation)
		}
		if d.ResourceVersion != rv {
			rv = d.ResourceVersion
			return fmt.Errorf("resourceVersion still moving (%s)", rv)
		}
		return nil
	})

	// Git changes web's replicas only, which the app ignores: a new digest,
	// so no fast path, and nothing to change.
	e.publishIgnoring(app, ns, "rev2", scaledApp(ns, 3, 2, "v1"))
	r := e.result(30 * time.Second)
	wantPhase(t, r, "rev2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"Namespace/" + ns:  ferryv1.Action_ACTION_UNCHANGED,
		"Deployment/web":   ferryv1.Action_ACTION_UNCHANGED,
		"Deployment/other": ferryv1.Action_ACTION_UNCHANGED,
	})
	if strings.HasPrefix(r.GetMessage(), "unchanged: digest") {
		t.Errorf("message %q: the digest fast path, want a full comparison", r.GetMessage())
	}
	web := e.deployment(ns, "web")
	wantReplicas(t, web, 5)
	if web.ResourceVersion != rv {
		t.Errorf("web resourceVersion %s → %s on an ignored-only difference", rv, web.ResourceVersion)
	}
	e.settled()
}

// managesReplicas reports whether manager owns dep's spec.replicas.
func managesReplicas(dep *appsv1.Deployment, manager string) bool {
	for _, f := range dep.ManagedFields {
		if f.Manager == manager && f.FieldsV1 != nil && containsReplicas(f.FieldsV1.Raw) {
			return true
		}
	}
	return false
}

// containsReplicas reports whether a managed-fields set names spec.replicas.
func containsReplicas(raw []byte) bool {
	var set map[string]any
	if err := json.Unmarshal(raw, &set); err != nil {
		return false
	}
	spec, _ := set["f:spec"].(map[string]any)
	_, ok := spec["f:replicas"]
	return ok
}
