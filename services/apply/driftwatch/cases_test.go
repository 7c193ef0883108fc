package driftwatch

import (
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestPatchIsDriftAndSelfHealed(t *testing.T) {
	e := newEnv(t, Options{}, true, nil)
	e.patchReplicas(5)
	ev := e.next("patched replicas")
	if ev.GetApp() != "shop" || ev.GetCluster() != "test" || ev.GetRevision() != "rev1" || ev.GetRepoUrl() == "" {
		t.Errorf("event identity: %v", ev)
	}
	if len(ev.GetObjects()) != 1 {
		t.Fatalf("objects: %v", ev.GetObjects())
	}
	o := ev.GetObjects()[0]
	if o.GetRef().GetKind() != "Deployment" || o.GetRef().GetName() != "web" {
		t.Errorf("drifted object %v", o.GetRef())
	}
	if !strings.Contains(o.GetDiff(), "/spec/replicas: 5 → 1") {
		t.Errorf("diff %q does not say replicas 5 → 1", o.GetDiff())
	}
	if o.GetChangedBy() != "kubectl-patch" {
		t.Errorf("changed_by = %q, want kubectl-patch", o.GetChangedBy())
	}
	if !ev.GetCorrected() {
		t.Error("self-heal on but the event says not corrected")
	}
	if got := e.replicas(); got != 1 {
		t.Errorf("replicas = %d after self-heal, want 1", got)
	}
	// Healing itself is not drift.
	e.none(time.Second)
}

func TestDriftReportedNotHealedWhenSelfHealOff(t *testing.T) {
	e := newEnv(t, Options{}, false, nil)
	e.patchReplicas(4)
	ev := e.next("patched replicas")
	if ev.GetCorrected() {
		t.Error("self-heal off but the event says corrected")
	}
	if got := e.replicas(); got != 4 {
		t.Errorf("replicas = %d, want the out-of-band 4 left alone", got)
	}
}

func TestDeletedObjectDetectedAndRecreated(t *testing.T) {
	e := newEnv(t, Options{}, true, nil)
	if err := e.kube.CoreV1().ConfigMaps(e.ns).Delete(t.Context(), "settings", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := e.next("deleted configmap")
	o := ev.GetObjects()[0]
	if !o.GetDeleted() || o.GetRef().GetKind() != "ConfigMap" || !ev.GetCorrected() {
		t.Fatalf("event %v, want a corrected deletion of the ConfigMap", ev)
	}
	cm, err := e.kube.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "settings", metav1.GetOptions{})
	if err != nil || cm.Data["color"] != "blue" {
		t.Fatalf("configmap not recreated: %v %v", cm, err)
	}
}

// An HPA-style change to an ignored field is not drift. One worker keeps
// the queue in order: the ConfigMap's event, queued after the Deployment's,
// arrives with nothing before it.
func TestIgnoredFieldIsNotDrift(t *testing.T) {
	ignore := []jsondiff.IgnoreRule{{Paths: []string{"/spec/replicas"}, Selector: &jsondiff.Selector{Kind: "Deployment"}}}
	e := newEnv(t, Options{Workers: 1}, true, ignore)
	e.patchReplicas(7)
	if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Patch(t.Context(), "settings", types.MergePatchType,
		[]byte(`{"data":{"color":"red"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	ev := e.next("configmap edit")
	if k := ev.GetObjects()[0].GetRef().GetKind(); k != "ConfigMap" {
		t.Fatalf("first drift is a %s, want the ConfigMap (replicas are ignored): %v", k, ev)
	}
	if got := e.replicas(); got != 7 {
		t.Errorf("replicas = %d, want 7 kept (ignored field must not be healed)", got)
	}
}

// A controller fighting self-heal: after FightLimit corrections in the
// window, healing stops and the event says the app is fighting.
func TestFightingStopsSelfHeal(t *testing.T) {
	e := newEnv(t, Options{FightLimit: 2, FightWindow: time.Minute}, true, nil)
	for i := range 2 {
		e.patchReplicas(10 + i)
		if ev := e.next("fight round"); !ev.GetCorrected() || ev.GetFighting() {
			t.Fatalf("round %d: %v, want corrected, not fighting", i, ev)
		}
	}
	e.patchReplicas(20)
	ev := e.next("third change")
	if ev.GetCorrected() || !ev.GetFighting() {
		t.Fatalf("third change: %v, want fighting and not corrected", ev)
	}
	if got := e.replicas(); got != 20 {
		t.Errorf("replicas = %d, want 20 left after healing stopped", got)
	}
}

// The periodic comparison catches a change the watch did not report
// (here: made while the app was paused for an apply).
func TestResyncCatchesMissedDrift(t *testing.T) {
	e := newEnv(t, Options{Resync: 300 * time.Millisecond}, false, nil)
	e.w.Pause("shop")
	e.patchReplicas(3)
	time.Sleep(200 * time.Millisecond)
	e.w.Resume("shop")
	ev := e.next("resync")
	if !strings.Contains(ev.GetObjects()[0].GetDiff(), "/spec/replicas: 3 → 1") {
		t.Errorf("diff %q", ev.GetObjects()[0].GetDiff())
	}
}

// `kubectl scale` writes through the scale subresource; the change is
// still attributed to it, not to the controllers that report status.
func TestScaleSubresourceIsAttributed(t *testing.T) {
	e := newEnv(t, Options{}, false, nil)
	scale, err := e.kube.AppsV1().Deployments(e.ns).GetScale(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 6
	if _, err := e.kube.AppsV1().Deployments(e.ns).UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	ev := e.next("scale")
	if o := ev.GetObjects()[0]; o.GetChangedBy() != "kubectl-scale" || !strings.Contains(o.GetDiff(), "/spec/replicas: 6 → 1") {
		t.Errorf("drifted object %v, want replicas 6 → 1 changed by kubectl-scale", o)
	}
}
