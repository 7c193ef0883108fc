package web

import (
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestAppViewHistory: revisions group across clusters, newest first; a
// revision republished by a command keeps its newest entry; the running
// revision is marked per cluster; a deletion is not a row but a removal.
func TestAppViewHistory(t *testing.T) {
	rev := func(cl, r string, seq uint64) fleet.Revision {
		return fleet.Revision{Cluster: cl, Seq: seq, At: time.Unix(int64(seq), 0), TraceID: cl + r,
			Desired: &ferryv1.DesiredState{Cluster: cl, Revision: r}}
	}
	hist := []fleet.Revision{ // newest first, as fleet.History returns them
		rev("prod", rev1, 5), // rolled back: republished
		rev("staging", rev2, 4),
		rev("prod", rev2, 3),
		rev("prod", rev1, 2),
		{Cluster: "old", Seq: 1, Desired: &ferryv1.DesiredState{Cluster: "old", Revision: rev1, Deleted: true}},
	}
	deps := []fleet.Deployment{
		{App: "web", Cluster: "prod", Sync: fleet.SyncSynced, Result: &ferryv1.SyncResult{Revision: rev1}},
		{App: "web", Cluster: "staging", Sync: fleet.SyncPending, Desired: &ferryv1.DesiredState{Revision: rev2}},
	}
	v := newAppView("web", deps, hist)
	if len(v.History) != 2 || v.History[0].Revision != rev1 || v.History[1].Revision != rev2 {
		t.Fatalf("history rows = %+v, want %s then %s", v.History, rev1, rev2)
	}
	if want := []string{"prod", "staging", "old"}; len(v.Clusters) != 3 || v.Clusters[0] != want[0] || v.Clusters[1] != want[1] || v.Clusters[2] != want[2] {
		t.Fatalf("columns = %v, want %v", v.Clusters, want)
	}
	first := v.History[0].Cells
	if first[0].Rev == nil || first[0].Rev.Seq != 5 || !first[0].Running {
		t.Errorf("%s in prod = %+v, want the republished entry (seq 5), running", rev1, first[0])
	}
	if first[1].Rev != nil || first[1].Running {
		t.Errorf("%s in staging = %+v, want none", rev1, first[1])
	}
	if first[2].Rev != nil {
		t.Errorf("a deletion became a history entry: %+v", first[2])
	}
	if len(v.Removals) != 1 || v.Removals[0].Cluster != "old" || !v.Removals[0].Desired.GetDeleted() {
		t.Errorf("removals = %+v, want the deletion in old", v.Removals)
	}
	second := v.History[1].Cells
	if second[0].Rev == nil || second[0].Running || second[1].Rev == nil || !second[1].Running {
		t.Errorf("%s cells = %+v, want in prod (not running) and staging (running)", rev2, second)
	}
}

// TestGridCells: every app gets a row and a cell per cluster, empty where
// it is not deployed; clusters come from heartbeats and deployments.
func TestGridCells(t *testing.T) {
	g := newGrid([]fleet.Deployment{{App: "web", Cluster: "staging"}, {App: "api", Cluster: "prod"}, {App: "web", Cluster: "prod"}},
		[]fleet.Cluster{{Name: "prod", Alive: true}, {Name: "idle"}})
	if len(g.Clusters) != 3 || g.Clusters[0].Name != "idle" || g.Clusters[1].Name != "prod" || g.Clusters[2].Name != "staging" || g.Clusters[2].Known {
		t.Fatalf("columns = %+v", g.Clusters)
	}
	if len(g.Rows) != 2 || g.Rows[0].App != "api" || g.Rows[1].App != "web" {
		t.Fatalf("rows = %+v", g.Rows)
	}
	api, web := g.Rows[0].Cells, g.Rows[1].Cells
	if api[0] != nil || api[1] == nil || api[2] != nil || web[0] != nil || web[1] == nil || web[2] == nil || web[2].Cluster != "staging" {
		t.Errorf("cells: api %v, web %v", api, web)
	}
}

// TestResultClass: an action's banner is green only when it went well.
func TestResultClass(t *testing.T) {
	res := func(p ferryv1.Phase, h ferryv1.Health, msg string) *commandResult {
		return &commandResult{Result: &ferryv1.SyncResult{Phase: p, Health: h, Message: msg}}
	}
	for _, tc := range []struct {
		r    *commandResult
		want string
	}{
		{&commandResult{Err: "no worker answered"}, clsBad},
		{&commandResult{}, clsProgress},
		{res(ferryv1.Phase_PHASE_UNSPECIFIED, 0, "automated sync suspended"), clsOK},
		{res(ferryv1.Phase_PHASE_UNSPECIFIED, 0, "rejected: no revision abc in the history"), clsBad},
		{res(ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_HEALTHY, ""), clsOK},
		{res(ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_DEGRADED, ""), clsWarn},
		{res(ferryv1.Phase_PHASE_FAILED, 0, "dry run failed"), clsBad},
		{res(ferryv1.Phase_PHASE_HELD, 0, "pinned"), clsWarn},
	} {
		if got := resultClass(tc.r); got != tc.want {
			t.Errorf("resultClass(err %q, %v) = %s, want %s", tc.r.Err, tc.r.Result, got, tc.want)
		}
	}
}
