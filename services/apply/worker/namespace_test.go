package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// configOnly is an app of one ConfigMap and no Namespace object.
const configOnly = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {level: info}
`

// badService cannot pass the dry-run gate: its port is out of range.
const badService = `---
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports: [{port: 70000}]
`

// TestCreateNamespace: without createNamespace an app whose namespace is
// missing fails with what to do; with it the worker creates the
// namespace (annotated, not labelled as managed), applies into it, and
// leaves it when the app is deleted.
func TestCreateNamespace(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)

	const app, ns = "made", "made-for-me"
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "m1",
		Sync: &ferryv1.SyncPolicy{Automated: true}}, []byte(configOnly))
	r := e.result(60 * time.Second)
	wantPhase(t, r, "m1", ferryv1.Phase_PHASE_FAILED)
	if !strings.Contains(r.GetMessage(), `namespaces "made-for-me" not found`) || !strings.Contains(r.GetMessage(), "sync.createNamespace") {
		t.Errorf("missing namespace message = %q, want the API server's answer and the createNamespace hint", r.GetMessage())
	}

	createNS := &ferryv1.SyncPolicy{Automated: true, Prune: true, CreateNamespace: true}
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "m2", Sync: createNS}, []byte(configOnly))
	r = e.result(60 * time.Second)
	wantPhase(t, r, "m2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{"Namespace/" + ns: ferryv1.Action_ACTION_CREATED, "ConfigMap/settings": ferryv1.Action_ACTION_CREATED})
	for _, o := range r.GetObjects() {
		if o.GetRef().GetKind() == "Namespace" && (o.GetHealth() != ferryv1.Health_HEALTH_HEALTHY || !strings.Contains(o.GetMessage(), "never pruned")) {
			t.Errorf("namespace result = %s %q, want healthy and never pruned", o.GetHealth(), o.GetMessage())
		}
	}
	var got corev1.Namespace
	if err := e.kube.Get(t.Context(), client.ObjectKey{Name: ns}, &got); err != nil {
		t.Fatalf("created namespace: %v", err)
	}
	if got.Annotations[AnnotationCreatedFor] != app || got.Labels[LabelManagedBy] != "" {
		t.Errorf("namespace annotations %v labels %v, want created-for %s and no managed-by label", got.Annotations, got.Labels, app)
	}
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &corev1.ConfigMap{}); err != nil {
		t.Fatalf("configmap in the created namespace: %v", err)
	}

	// A revision the gate refuses changes nothing in the namespace.
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "m3", Sync: createNS},
		[]byte(strings.Replace(configOnly, "level: info", "level: warn", 1)+badService))
	wantPhase(t, e.result(60*time.Second), "m3", ferryv1.Phase_PHASE_FAILED)
	var cm corev1.ConfigMap
	if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &cm); err != nil || cm.Data["level"] != "info" {
		t.Errorf("configmap after a refused revision: %v %v, want level info", err, cm.Data)
	}

	// The next revision finds the namespace and does not list it again.
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "m4", Sync: createNS},
		[]byte(strings.Replace(configOnly, "level: info", "level: debug", 1)))
	r = e.result(60 * time.Second)
	wantPhase(t, r, "m4", ferryv1.Phase_PHASE_SUCCEEDED)
	wantActions(t, r, map[string]ferryv1.Action{"ConfigMap/settings": ferryv1.Action_ACTION_CONFIGURED})

	// Deleting the app prunes its objects and keeps the namespace.
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "m5", Sync: createNS, Deleted: true}, nil)
	wantPhase(t, e.result(60*time.Second), "m5", ferryv1.Phase_PHASE_SUCCEEDED)
	e.eventually("configmap pruned", 10*time.Second, func() error {
		err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &corev1.ConfigMap{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("configmap still there: %v", err)
	})
	if err := e.kube.Get(t.Context(), client.ObjectKey{Name: ns}, &got); err != nil || got.DeletionTimestamp != nil {
		t.Errorf("namespace after the app was deleted: %v (deleting %v), want it kept", err, got.DeletionTimestamp)
	}
}
