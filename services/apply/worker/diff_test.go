package worker

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// diffApp is a Namespace, a ConfigMap, a Secret and a ConfigMap named
// extra (one that rev2 drops and rev1 has, to be pruned).
func diffApp(ns string, withOld, withNew bool) []byte {
	out := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: %[2]s
  user: %[3]s
`, ns, base64.StdEncoding.EncodeToString([]byte("s3cret-desired")), base64.StdEncoding.EncodeToString([]byte("admin")))
	if withOld {
		out += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\ndata: {a: b}\n"
	}
	if withNew {
		out += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\ndata: {c: d}\n"
	}
	return []byte(out)
}

// askDiff requests a diff of app from the test cluster's worker.
func (e *env) askDiff(app string) *ferryv1.DiffResponse {
	e.t.Helper()
	msg, err := events.NewMsg(e.t.Context(), subject.Query(testCluster, subject.QueryDiff), &ferryv1.DiffRequest{App: app, RequestedBy: "test"}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	reply, err := e.nc.RequestMsg(msg, 25*time.Second)
	if err != nil {
		e.t.Fatalf("diff request: %v", err)
	}
	res := &ferryv1.DiffResponse{}
	if err := proto.Unmarshal(reply.Data, res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

// diffsByName maps "Kind/name" to each object's diff.
func diffsByName(res *ferryv1.DiffResponse) map[string]*ferryv1.ObjectDiff {
	out := map[string]*ferryv1.ObjectDiff{}
	for _, o := range res.GetObjects() {
		out[o.GetRef().GetKind()+"/"+o.GetRef().GetName()] = o
	}
	return out
}

// wantDiffActions fails unless res has exactly want's objects and actions.
func wantDiffActions(t *testing.T, res *ferryv1.DiffResponse, want map[string]ferryv1.Action) {
	t.Helper()
	got := diffsByName(res)
	if res.GetError() != "" {
		t.Fatalf("diff error: %s", res.GetError())
	}
	for k, a := range want {
		if got[k].GetAction() != a {
			t.Errorf("%s: action %v (%s), want %v", k, got[k].GetAction(), got[k].GetMessage(), a)
		}
	}
	if len(got) != len(want) {
		t.Errorf("diff has %d objects, want %d: %v", len(got), len(want), got)
	}
}

// TestDiffQuery: the worker answers a diff of its desired vs live state,
// with drifted fields in a unified YAML diff and Secret values redacted,
// objects to create and to prune, the pinned revision while pinned, and a
// clear error for an app it has no desired state of.
func TestDiffQuery(t *testing.T) {
	e := newEnv(t)
	e.startCommandWorker(Options{HealthTimeout: -1})
	const app, ns = "differ", "differ"
	// The command consumer exists before the worker subscribes to queries.
	e.eventually("diff queries answered", 10*time.Second, func() error {
		_, err := e.nc.Request(subject.Query(testCluster, subject.QueryDiff), nil, 5*time.Second)
		return err
	})

	if res := e.askDiff("unknown"); !strings.Contains(res.GetError(), "no desired state of unknown") {
		t.Errorf("diff of an unknown app: error %q", res.GetError())
	}

	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "rev1",
		Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true}}, diffApp(ns, true, false))
	wantPhase(t, e.result(30*time.Second), "rev1", ferryv1.Phase_PHASE_SUCCEEDED)
	res := e.askDiff(app)
	if res.GetRevision() != "rev1" || res.GetCluster() != testCluster {
		t.Errorf("diff of revision %q in %q, want rev1 in %s", res.GetRevision(), res.GetCluster(), testCluster)
	}
	wantDiffActions(t, res, map[string]ferryv1.Action{
		"Namespace/" + ns: ferryv1.Action_ACTION_UNCHANGED, "ConfigMap/web": ferryv1.Action_ACTION_UNCHANGED,
		"Secret/creds": ferryv1.Action_ACTION_UNCHANGED, "ConfigMap/old": ferryv1.Action_ACTION_UNCHANGED,
	})

	// Out-of-band edits (self-heal is off): a ConfigMap field and a Secret value.
	ctx := t.Context()
	var cm corev1.ConfigMap
	if err := e.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["greeting"] = "hacked"
	if err := e.kube.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	var sec corev1.Secret
	if err := e.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &sec); err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte("s3cret-live")
	if err := e.kube.Update(ctx, &sec); err != nil {
		t.Fatal(err)
	}
	res = e.askDiff(app)
	wantDiffActions(t, res, map[string]ferryv1.Action{
		"Namespace/" + ns: ferryv1.Action_ACTION_UNCHANGED, "ConfigMap/web": ferryv1.Action_ACTION_CONFIGURED,
		"Secret/creds": ferryv1.Action_ACTION_CONFIGURED, "ConfigMap/old": ferryv1.Action_ACTION_UNCHANGED,
	})
	d := diffsByName(res)
	if web := d["ConfigMap/web"].GetDiff(); !strings.Contains(web, "-  greeting: hacked") || !strings.Contains(web, "+  greeting: hello") ||
		!strings.HasPrefix(web, "--- live\n+++ desired\n") {
		t.Errorf("ConfigMap diff does not show greeting hacked → hello:\n%s", web)
	}
	secret := d["Secret/creds"].GetDiff()
	for _, leak := range []string{"s3cret", base64.StdEncoding.EncodeToString([]byte("s3cret-live")),
		base64.StdEncoding.EncodeToString([]byte("s3cret-desired")), base64.StdEncoding.EncodeToString([]byte("admin"))} {
		if strings.Contains(secret, leak) {
			t.Errorf("Secret diff leaks %q:\n%s", leak, secret)
		}
	}
	if !strings.Contains(secret, "-  password: "+redactedLive) || !strings.Contains(secret, "+  password: "+redactedDesired) ||
		strings.Contains(secret, "-  user:") {
		t.Errorf("Secret diff does not show a changed password and an unchanged user:\n%s", secret)
	}

	// Suspended, a new revision waits: its diff shows what resuming would do.
	wantPhase(t, e.reply(e.command(app, ferryv1.Verb_VERB_SUSPEND, "", "test")), "", ferryv1.Phase_PHASE_UNSPECIFIED)
	e.publishState(&ferryv1.DesiredState{App: app, Namespace: ns, Revision: "rev2",
		Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true}}, diffApp(ns, false, true))
	wantPhase(t, e.resultWhere("rev2 held", func(r *ferryv1.SyncResult) bool { return r.GetRevision() == "rev2" }), "rev2", ferryv1.Phase_PHASE_HELD)
	res = e.askDiff(app)
	if res.GetRevision() != "rev2" {
		t.Errorf("diff of revision %q, want the newest, rev2", res.GetRevision())
	}
	wantDiffActions(t, res, map[string]ferryv1.Action{
		"Namespace/" + ns: ferryv1.Action_ACTION_UNCHANGED, "ConfigMap/web": ferryv1.Action_ACTION_CONFIGURED,
		"Secret/creds": ferryv1.Action_ACTION_CONFIGURED, "ConfigMap/new": ferryv1.Action_ACTION_CREATED,
		"ConfigMap/old": ferryv1.Action_ACTION_DELETED,
	})
	d = diffsByName(res)
	if !strings.Contains(d["ConfigMap/new"].GetDiff(), "+  c: d") || !strings.Contains(d["ConfigMap/old"].GetDiff(), "-  a: b") {
		t.Errorf("created and pruned objects' diffs:\n%s\n%s", d["ConfigMap/new"].GetDiff(), d["ConfigMap/old"].GetDiff())
	}

	// Pinned by a rollback to rev1, a revision pushed before the pin is
	// newest on the subject, yet the diff is of the pinned rev1.
	wantPhase(t, e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "rev1", "test")), "rev1", ferryv1.Phase_PHASE_SUCCEEDED)
	late := &ferryv1.DesiredState{App: app, Cluster: testCluster, Namespace: ns, Revision: "rev3", Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true},
		ReceivedUnixNano: time.Now().Add(-time.Hour).UnixNano()}
	if err := bundle.Attach(ctx, e.js, late, diffApp(ns, false, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(ctx, e.js, subject.Desired(testCluster, app), late, ""); err != nil {
		t.Fatal(err)
	}
	e.resultWhere("rev3 held by the pin", func(r *ferryv1.SyncResult) bool { return r.GetRevision() == "rev3" })
	if res = e.askDiff(app); res.GetRevision() != "rev1" || res.GetError() != "" {
		t.Errorf("diff while pinned to rev1: revision %q, error %q", res.GetRevision(), res.GetError())
	}
}
