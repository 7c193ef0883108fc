package web

import (
	"net/http"
	"testing"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const (
	rev1 = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	rev2 = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// TestEmptyStates: a fresh Ferry shows how to get started, not an error.
func TestEmptyStates(t *testing.T) {
	e := start(t, DefaultOptions())
	c := e.client()
	code, body := e.get(c, "/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", code, body)
	}
	mustContain(t, "empty grid", body, "No apps yet", "ferry.yaml", "read-only")
	for path, want := range map[string]int{
		"/apps/nothing":          http.StatusNotFound,
		"/apps/Bad_Name":         http.StatusNotFound,
		"/clusters/nowhere":      http.StatusNotFound,
		"/apps/web/diff/Bad_One": http.StatusNotFound,
		"/no/such/page":          http.StatusNotFound,
		"/static/style.css":      http.StatusOK,
		"/static/live.js":        http.StatusOK,
		"/healthz":               http.StatusOK,
		"/readyz":                http.StatusOK,
	} {
		if code, body := e.get(c, path); code != want {
			t.Errorf("GET %s = %d, want %d\n%s", path, code, want, body)
		}
	}
}

// TestPages: the grid, app and cluster pages show what the streams and
// the heartbeat hold, and a fragment request gets only the main section.
func TestPages(t *testing.T) {
	e := start(t, DefaultOptions())
	e.heartbeat("prod", map[string]cluster.AppStatus{"web": {Revision: rev2}})
	e.deploy("prod", "web", rev1, "Add web")
	e.deploy("prod", "web", rev2, "Scale web to 3")
	e.deploy("staging", "api", rev1, "Add api")
	e.publish(subject.Drift("staging", "api"), &ferryv1.DriftEvent{App: "api", Cluster: "staging", Revision: rev1,
		Objects: []*ferryv1.DriftedObject{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Namespace: "api", Name: "web"}, Diff: "/data/greeting: hi → hello", ChangedBy: "kubectl-edit"}}})
	c := e.client()

	code, body := e.get(c, "/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", code, body)
	}
	mustContain(t, "grid", body, `href="/apps/web#dest-prod"`, `href="/apps/api#dest-staging"`, "2222222", "Synced", "healthy",
		"drifted", `href="/clusters/prod"`, "v9.8.7", "Scale web to 3", `data-events="/events"`)
	mustLack(t, "grid", body, "1111111bbb")

	code, body = e.get(c, "/apps/web")
	if code != http.StatusOK {
		t.Fatalf("GET /apps/web = %d\n%s", code, body)
	}
	mustContain(t, "app page", body, `id="dest-prod"`, "ConfigMap/web/web", "Deployment/web/web", "configured", "unchanged",
		"Deployment is available", "History", "1111111", "Add web", "Ada", "running", `data-events="/events?app=web"`,
		`/apps/web/diff/prod`)
	mustLack(t, "read-only app page", body, "Roll back", "Sync now", `name="csrf"`)

	code, body = e.get(c, "/apps/web", fragmentHeader, "1")
	if code != http.StatusOK {
		t.Fatalf("fragment = %d", code)
	}
	mustContain(t, "fragment", body, `id="dest-prod"`)
	mustLack(t, "fragment", body, "<html", "<header")

	code, body = e.get(c, "/clusters/prod")
	if code != http.StatusOK {
		t.Fatalf("GET /clusters/prod = %d\n%s", code, body)
	}
	mustContain(t, "cluster page", body, "alive", "v9.8.7", "pending", `href="/apps/web#dest-prod"`, "2222222")

	// A cluster with deployments but no worker heartbeat says so.
	code, body = e.get(c, "/clusters/staging")
	if code != http.StatusOK {
		t.Fatalf("GET /clusters/staging = %d\n%s", code, body)
	}
	mustContain(t, "cluster without heartbeat", body, "has ever sent a heartbeat", "apply --cluster staging")

	code, body = e.get(c, "/apps/web/diff/prod")
	if code != http.StatusOK {
		t.Fatalf("GET diff = %d\n%s", code, body)
	}
	mustContain(t, "diff without a worker", body, "Diff unavailable")
}
