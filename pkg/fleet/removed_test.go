package fleet

import (
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// deletion is the desired state render publishes when app is removed from
// the registry at rev: no digest, deleted set.
func deletion(cl, app, rev string) *ferryv1.DesiredState {
	return &ferryv1.DesiredState{App: app, Cluster: cl, Namespace: app, Revision: rev, Deleted: true,
		Commit: &ferryv1.Commit{Id: rev, Message: "remove " + app}}
}

// pruned is the result a worker reports after pruning a removed app.
func pruned(cl, app, rev string) *ferryv1.SyncResult {
	return &ferryv1.SyncResult{App: app, Cluster: cl, Revision: rev, Phase: ferryv1.Phase_PHASE_SUCCEEDED,
		Objects: []*ferryv1.ObjectResult{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Namespace: app, Name: "cfg"}, Action: ferryv1.Action_ACTION_DELETED}}}
}

// listed returns the app/cluster pairs of Deployments(f).
func (e *env) listed(f Filter) map[[2]string]Deployment {
	e.t.Helper()
	ds, err := e.c.Deployments(e.t.Context(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[[2]string]Deployment{}
	for _, d := range ds {
		out[[2]string{d.App, d.Cluster}] = d
	}
	return out
}

func TestRemovedAppLeavesDeploymentsButKeepsHistory(t *testing.T) {
	e := newEnv(t)
	S, healthy := ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_HEALTHY
	for _, cl := range []string{"prod", "staging"} {
		e.publish(subject.Desired(cl, "web"), desired(cl, "web", "aaaaaaaa1", "sha256:1"))
		e.publish(subject.Status(cl, "web"), result(cl, "web", "aaaaaaaa1", "sha256:1", S, healthy))
	}
	e.publish(subject.Desired("prod", "api"), desired("prod", "api", "aaaaaaaa1", "sha256:9"))
	// web is removed from prod only, and pruned there.
	e.publish(subject.Desired("prod", "web"), deletion("prod", "web", "bbbbbbbb2"))
	e.publish(subject.Status("prod", "web"), pruned("prod", "web", "bbbbbbbb2"))

	got := e.listed(Filter{})
	if _, ok := got[[2]string{"web", "prod"}]; ok {
		t.Errorf("removed web/prod is listed: %+v", got)
	}
	if _, ok := got[[2]string{"web", "staging"}]; !ok || len(got) != 2 {
		t.Errorf("listed %v, want web/staging and api/prod", got)
	}
	if got := e.listed(Filter{App: "web", Cluster: "prod"}); len(got) != 0 {
		t.Errorf("filtered to the removed app: %+v", got)
	}
	all := e.listed(Filter{Removed: true})
	if d, ok := all[[2]string{"web", "prod"}]; !ok || !d.Removed() || len(all) != 3 {
		t.Errorf("Removed filter lists %+v, want web/prod marked removed among 3", all)
	}

	h, err := e.c.History(t.Context(), "web", Filter{Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 {
		t.Fatalf("history has %d revisions, want 2: %+v", len(h), h)
	}
	if !h[0].Desired.GetDeleted() || h[0].Desired.GetRevision() != "bbbbbbbb2" {
		t.Errorf("newest revision = %v, want the deletion at bbbbbbbb2", h[0].Desired)
	}
	if h[0].Result.GetObjects()[0].GetAction() != ferryv1.Action_ACTION_DELETED {
		t.Errorf("deletion's result = %v, want the deletion", h[0].Result)
	}
	if h[1].Desired.GetDeleted() || h[1].Result.GetHealth() != healthy {
		t.Errorf("older revision = %v / %v", h[1].Desired, h[1].Result)
	}
}

func TestReaddedAppIsListedAgain(t *testing.T) {
	e := newEnv(t)
	S, healthy := ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_HEALTHY
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "aaaaaaaa1", "sha256:1"))
	e.publish(subject.Status("prod", "web"), result("prod", "web", "aaaaaaaa1", "sha256:1", S, healthy))
	e.publish(subject.Desired("prod", "web"), deletion("prod", "web", "bbbbbbbb2"))
	e.publish(subject.Status("prod", "web"), pruned("prod", "web", "bbbbbbbb2"))
	if got := e.listed(Filter{}); len(got) != 0 {
		t.Fatalf("removed app listed: %+v", got)
	}
	// Added back to ferry.yaml: a newer desired state that is no deletion.
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "cccccccc3", "sha256:1"))
	got := e.listed(Filter{})
	d, ok := got[[2]string{"web", "prod"}]
	if !ok || d.Removed() {
		t.Fatalf("re-added web/prod not listed: %+v", got)
	}
	if d.Sync != SyncPending || d.Desired.GetRevision() != "cccccccc3" {
		t.Errorf("re-added web/prod = %s at %s, want Pending at cccccccc3", d.Sync, d.Desired.GetRevision())
	}
	h, err := e.c.History(t.Context(), "web", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || !h[1].Desired.GetDeleted() {
		t.Errorf("history keeps the removal between the revisions: %+v", h)
	}
}
