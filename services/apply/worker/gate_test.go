package worker

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/controlplane"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// crdAndWidget is a CRD and a custom resource of it, in a namespace of the
// same set.
const crdAndWidget = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.ferry.dev
spec:
  group: example.ferry.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
---
apiVersion: v1
kind: Namespace
metadata:
  name: widgets
---
apiVersion: example.ferry.dev/v1
kind: Widget
metadata:
  name: blue
spec:
  size: 3
`

func TestCRDAndCustomResourceApplyInOneRevision(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	e.publish("widgets", "widgets", "w1", []byte(crdAndWidget))
	r := e.result(60 * time.Second)
	wantPhase(t, r, "w1", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{
		"CustomResourceDefinition/widgets.example.ferry.dev": ferryv1.Action_ACTION_CREATED,
		"Namespace/widgets": ferryv1.Action_ACTION_CREATED,
		"Widget/blue":       ferryv1.Action_ACTION_CREATED,
	})
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(schema.GroupVersionKind{Group: "example.ferry.dev", Version: "v1", Kind: "Widget"})
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: "widgets", Name: "blue"}, w); err != nil {
		t.Fatalf("get widget: %v", err)
	}
	if w.GetLabels()[LabelApp] != "widgets" {
		t.Errorf("widget labels %v", w.GetLabels())
	}
	e.settled()
}

func TestInvalidRevisionChangesNothingAndKeepsThePreviousOne(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "keep", "keep"
	e.publish(app, ns, "k1", guestbook(ns, 1, 80))
	wantPhase(t, e.result(60*time.Second), "k1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()

	// k2 scales the Deployment, adds a ConfigMap, and has a bad Service port.
	bad := append(guestbook(ns, 2, 70000), "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added\n"...)
	e.publish(app, ns, "k2", bad)
	r := e.result(60 * time.Second)
	wantPhase(t, r, "k2", ferryv1.Phase_PHASE_FAILED)
	for _, o := range r.GetObjects() {
		name := o.GetRef().GetKind() + "/" + o.GetRef().GetName()
		switch {
		case name == "Service/web":
			if o.GetAction() != ferryv1.Action_ACTION_FAILED || !strings.Contains(o.GetMessage(), "must be between 1 and 65535") {
				t.Errorf("%s: %s %q, want FAILED with the API server's message", name, o.GetAction(), o.GetMessage())
			}
		case o.GetAction() != ferryv1.Action_ACTION_SKIPPED && o.GetAction() != ferryv1.Action_ACTION_UNCHANGED:
			t.Errorf("%s: action %s on a refused revision, want SKIPPED or UNCHANGED", name, o.GetAction())
		}
	}
	if !strings.Contains(r.GetMessage(), "70000") {
		t.Errorf("result message %q lacks the API server's message", r.GetMessage())
	}
	e.settled()

	var dep appsv1.Deployment
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	if *dep.Spec.Replicas != 1 {
		t.Errorf("deployment replicas %d, want 1 (k1 still running)", *dep.Spec.Replicas)
	}
	var svc corev1.Service
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &svc); err != nil || svc.Spec.Ports[0].Port != 80 {
		t.Errorf("service: %v, port %v, want k1's port 80", err, svc.Spec.Ports)
	}
	var cm corev1.ConfigMap
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "added"}, &cm); err == nil {
		t.Errorf("configmap of the refused revision exists")
	}
}

func TestOneAppToTwoClusters(t *testing.T) {
	east := cp
	west := controlplane.StartForTest(t)
	e := newEnv(t)
	e.startWorkerWith(east.RESTConfig(), Options{Cluster: "east"})
	e.startWorkerWith(west.RESTConfig(), Options{Cluster: "west", HealthTimeout: -1}) // no kube-controller-manager there
	const app, ns = "twice", "twice"

	replicas := map[string]int{"east": 1, "west": 2}
	for cluster, n := range replicas {
		e.publishState(&ferryv1.DesiredState{Cluster: cluster, App: app, Namespace: ns, Revision: "r-" + cluster,
			Sync: &ferryv1.SyncPolicy{Automated: true}}, guestbook(ns, n, 80))
	}
	seen := map[string]*ferryv1.SyncResult{}
	for len(seen) < 2 {
		r := e.result(60 * time.Second)
		seen[r.GetCluster()] = r
	}
	for cluster, r := range seen {
		wantPhase(t, r, "r-"+cluster, ferryv1.Phase_PHASE_SUCCEEDED)
	}
	e.settledOf("east")
	e.settledOf("west")
	for cluster, c := range map[string]*controlplane.ControlPlane{"east": east, "west": west} {
		kc, err := client.New(c.RESTConfig(), client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := kc.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
			t.Fatalf("%s: get deployment: %v", cluster, err)
		}
		if got := int(*dep.Spec.Replicas); got != replicas[cluster] {
			t.Errorf("%s: replicas %d, want %d (its own desired state only)", cluster, got, replicas[cluster])
		}
		var inv corev1.ConfigMap
		if err := kc.Get(t.Context(), client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName(cluster, app)}, &inv); err != nil {
			t.Errorf("%s: inventory: %v", cluster, err)
		} else if inv.Data[inventoryRevision] != "r-"+cluster {
			t.Errorf("%s: inventory revision %q, want %q", cluster, inv.Data[inventoryRevision], "r-"+cluster)
		}
	}
}
