package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestRemovedAppLeavesTheGrid: an app removed from ferry.yaml (a desired
// state with deleted set, then the prune's result) is no grid row, and
// its page still shows its history and the removal with its result.
func TestRemovedAppLeavesTheGrid(t *testing.T) {
	e := start(t, DefaultOptions())
	e.deploy("prod", "web", rev1, "Add web")
	e.deploy("prod", "api", rev1, "Add api")
	e.publish(subject.Desired("prod", "web"), &ferryv1.DesiredState{App: "web", Cluster: "prod", Namespace: "web", Revision: rev2, Deleted: true})
	now := time.Now().UnixNano()
	e.publish(subject.Status("prod", "web"), &ferryv1.SyncResult{App: "web", Cluster: "prod", Revision: rev2,
		Phase: ferryv1.Phase_PHASE_SUCCEEDED, StartedUnixNano: now, FinishedUnixNano: now, Message: "pruned 2 objects",
		Objects: []*ferryv1.ObjectResult{{Ref: &ferryv1.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web"}, Action: ferryv1.Action_ACTION_DELETED}}})
	c := e.client()

	code, body := e.get(c, "/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", code, body)
	}
	mustContain(t, "grid", body, `href="/apps/api#dest-prod"`)
	mustLack(t, "grid", body, `href="/apps/web#dest-prod"`)

	code, body = e.get(c, "/apps/web")
	if code != http.StatusOK {
		t.Fatalf("GET /apps/web = %d\n%s", code, body)
	}
	mustContain(t, "removed app page", body, "Not deployed", "removed from the platform repository", `id="removals"`,
		"2222222", "pruned 2 objects", "History", "1111111", "Add web")
	mustLack(t, "removed app page", body, `id="dest-prod"`)
}
