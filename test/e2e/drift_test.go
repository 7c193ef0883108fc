package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// driftApp deploys app with the given sync policy (and ignore rules) and
// returns a channel of its drift events.
func driftApp(t *testing.T, app, sync, ignore string) <-chan *ferryv1.DriftEvent {
	t.Helper()
	ctx := context.Background()
	repo := newRepo(t, "platform-"+app)
	files := appFiles(repo.URL, app, 2)
	files["ferry.yaml"] = fmt.Sprintf(`apps:
  - name: %[1]s
    source: {repo: %[2]s, path: apps/%[1]s, ref: main}
    destinations: [{cluster: e2e, namespace: %[1]s}]
    sync: %[3]s
%[4]s`, app, repo.URL, sync, ignore)
	res := results(t, app)
	sha := commitAndPush(t, repo, files, "add "+app)
	if err := pipe.Webhook(ctx, pushhook.GitHub, repo, pushhook.ZeroSHA, sha, app+"-1"); err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, res, sha); r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
		t.Fatalf("deploy %s: %v %s", app, r.GetPhase(), r.GetMessage())
	}
	cons, err := pipe.JS.OrderedConsumer(ctx, subject.StreamDrift, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject.Drift(pipe.Cluster, app)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *ferryv1.DriftEvent, 16)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var ev ferryv1.DriftEvent
		if _, err := events.DecodeMsg(ctx, msg, &ev); err == nil {
			ch <- &ev
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return ch
}

func nextDrift(t *testing.T, ch <-chan *ferryv1.DriftEvent) *ferryv1.DriftEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatalf("no drift event within 30s (pipeline error: %v)", pipe.Err())
		return nil
	}
}

func patchDeployment(t *testing.T, ns, patch, manager string) {
	t.Helper()
	if _, err := kube.AppsV1().Deployments(ns).Patch(context.Background(), "web", types.MergePatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: manager}); err != nil {
		t.Fatal(err)
	}
}

// TestDriftWithoutSelfHealIsReportedToSlack: an out-of-band edit is
// detected, left in place, and alerted to Slack once with the app, the
// cluster, the commit link and the diff.
func TestDriftWithoutSelfHealIsReportedToSlack(t *testing.T) {
	const app = "drift-report"
	drift := driftApp(t, app, "{automated: true, prune: true, selfHeal: false}", "")
	patchDeployment(t, app, `{"spec":{"replicas":4}}`, "kubectl-edit")
	ev := nextDrift(t, drift)
	o := ev.GetObjects()[0]
	if ev.GetCorrected() || o.GetChangedBy() != "kubectl-edit" || o.GetDiff() != "/spec/replicas: 4 → 2" {
		t.Fatalf("drift event %v, want uncorrected /spec/replicas: 4 → 2 by kubectl-edit", ev)
	}
	if got := deploymentReplicas(t, app); got != 4 {
		t.Errorf("replicas = %d, want the edit (4) left in place", got)
	}
	eventually(t, "slack alert", func() bool { return len(slack.find(app, "e2e", "/spec/replicas: 4 → 2")) > 0 })
	msg := slack.find(app, "e2e")[0]
	if !contains(msg.raw, "/commit/"+ev.GetRevision()) {
		t.Errorf("slack message does not link the commit %s: %s", ev.GetRevision(), msg.raw)
	}
	if bad := slack.invalidPayloads(); len(bad) > 0 {
		t.Errorf("payloads Slack would refuse: %v", bad)
	}
}

// TestDriftWithSelfHealIsReverted: the edit is reverted and the event
// says so; a deleted object is recreated.
func TestDriftWithSelfHealIsReverted(t *testing.T) {
	const app = "drift-heal"
	drift := driftApp(t, app, "{automated: true, prune: true, selfHeal: true}", "")
	patchDeployment(t, app, `{"spec":{"replicas":7}}`, "kubectl-patch")
	if ev := nextDrift(t, drift); !ev.GetCorrected() {
		t.Fatalf("drift event %v, want corrected", ev)
	}
	if got := deploymentReplicas(t, app); got != 2 {
		t.Errorf("replicas = %d after self-heal, want 2", got)
	}
	if err := kube.CoreV1().ConfigMaps(app).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := nextDrift(t, drift); !ev.GetObjects()[0].GetDeleted() || !ev.GetCorrected() {
		t.Fatalf("drift event %v, want a corrected deletion", ev)
	}
	if _, err := kube.CoreV1().ConfigMaps(app).Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("configmap not recreated: %v", err)
	}
}

// TestIgnoredFieldFromFerryYAMLIsNotDrift: ignoreDifferences in ferry.yaml
// reaches the worker; an HPA-style replicas change is neither drift nor
// healed, while another edit of the same object still is (and is healed
// without taking the replicas back).
func TestIgnoredFieldFromFerryYAMLIsNotDrift(t *testing.T) {
	const app = "drift-hpa"
	drift := driftApp(t, app, "{automated: true, prune: true, selfHeal: true}",
		"    ignoreDifferences:\n      - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}\n")
	patchDeployment(t, app, `{"spec":{"replicas":9}}`, "horizontal-pod-autoscaler")
	// A field Ferry declares (the image) is still drift, and the event
	// shows it without the ignored replicas.
	patchDeployment(t, app, `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:2.0"}]}}}}`, "kubectl-edit")
	ev := nextDrift(t, drift)
	if d := ev.GetObjects()[0].GetDiff(); contains(d, "replicas") || !contains(d, "/spec/template/spec/containers/0/image") {
		t.Fatalf("drift %q: want only the image edit, never the ignored replicas", d)
	}
	select {
	case ev := <-drift:
		t.Fatalf("second drift event %v: the replicas change is ignored", ev)
	case <-time.After(500 * time.Millisecond):
	}
	if got := deploymentReplicas(t, app); got != 9 {
		t.Errorf("replicas = %d, want the autoscaler's 9 kept", got)
	}
	d, err := kube.AppsV1().Deployments(app).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "registry.example/web:1.0" {
		t.Errorf("image not healed: %v %v", d.Spec.Template.Spec.Containers, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
