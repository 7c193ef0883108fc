package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/services/ferry/cli"
)

// TestDeployedApp: every read command's output for an app that deployed
// and is healthy, as tables and as JSON.
func TestDeployedApp(t *testing.T) {
	a := newApp(t, "web")
	sha, pushID := a.push(t, a.files("hello", nil), "Add web")
	synced(t, a.name, sha)

	t.Run("get apps", func(t *testing.T) {
		out := ok(t, "get", "apps")
		if h := header(out); !slices.Equal(h, []string{"APP", "CLUSTER", "REVISION", "SYNC", "HEALTH", "DRIFT", "AGE"}) {
			t.Errorf("header %v", h)
		}
		if r := row(t, out, "web", clusterName); !slices.Equal(r[2:6], []string{fleet.Short(sha), "Synced", "Healthy", "no"}) {
			t.Errorf("row %v, want revision %s Synced Healthy no", r, fleet.Short(sha))
		}
		wide := ok(t, "get", "apps", "web", "-o", "wide")
		if h := header(wide); !slices.Equal(h[7:], []string{"NAMESPACE", "COMMIT", "MESSAGE"}) {
			t.Errorf("wide header %v", h)
		}
		if !strings.Contains(wide, "Add web") {
			t.Errorf("wide output lacks the commit message:\n%s", wide)
		}
		var apps appJSON
		jsonOf(t, &apps, "get", "apps", "web")
		got := apps.Apps[0]
		if got.Revision != sha || got.Commit == nil || got.Commit.Message != "Add web" || got.Commit.Author == "" || got.Drifted {
			t.Errorf("json: %+v", got)
		}
		if y := ok(t, "get", "apps", "web", "-o", "yaml"); !strings.Contains(y, "app: web") || !strings.Contains(y, "revision: "+sha) {
			t.Errorf("yaml:\n%s", y)
		}
	})

	t.Run("get clusters", func(t *testing.T) {
		out := ok(t, "get", "clusters")
		if h := header(out); !slices.Equal(h, []string{"CLUSTER", "LAST-SEEN", "VERSION", "PENDING", "APPS"}) {
			t.Errorf("header %v", h)
		}
		if r := rowOf(t, out, clusterName); len(r) != 5 {
			t.Errorf("cluster row %v", r)
		}
		var cls struct {
			Clusters []struct {
				Cluster string `json:"cluster"`
				Alive   bool   `json:"alive"`
				Version string `json:"version"`
			} `json:"clusters"`
		}
		jsonOf(t, &cls, "get", "clusters")
		if len(cls.Clusters) == 0 || cls.Clusters[0].Cluster != clusterName || !cls.Clusters[0].Alive || cls.Clusters[0].Version == "" {
			t.Errorf("clusters json: %+v", cls)
		}
		if one := ok(t, "get", "clusters", clusterName); len(rowOf(t, one, clusterName)) != 5 || strings.Count(one, "\n") != 2 {
			t.Errorf("get clusters %s:\n%s", clusterName, one)
		}
		if r := ferry(t, "get", "clusters", "nowhere"); r.code != cli.ExitError || !strings.Contains(r.err, `no worker of cluster "nowhere" has ever sent a heartbeat`) {
			t.Errorf("get clusters of an unknown cluster: exit %d, stderr %q", r.code, r.err)
		}
	})

	t.Run("status", func(t *testing.T) {
		out := ok(t, "status", "web")
		for _, want := range []string{"App:       web", "Cluster:   " + clusterName, "Sync:      Synced", "Health:    Healthy", "Drift:     none", "Add web"} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
		for _, obj := range [][]string{{"ConfigMap", "web"}, {"Secret", "web"}, {"Service", "web"}} {
			r := row(t, out, obj[0], obj[1])
			if r[3] != "created" || r[4] != "healthy" {
				t.Errorf("object row %v, want created healthy", r)
			}
		}
	})

	t.Run("history", func(t *testing.T) {
		out := ok(t, "history", "web")
		if h := header(out); !slices.Equal(h, []string{"REVISION", "CLUSTER", "AUTHOR", "TIME", "RESULT", "MESSAGE"}) {
			t.Errorf("header %v", h)
		}
		r := row(t, out, fleet.Short(sha), clusterName)
		if !strings.Contains(strings.Join(r, " "), "succeeded,healthy Add web") {
			t.Errorf("history row %v", r)
		}
	})

	t.Run("diff", func(t *testing.T) {
		out := ok(t, "diff", "web", "--cluster", clusterName)
		if !strings.Contains(out, "web in "+clusterName+" at "+fleet.Short(sha)+": live matches desired (4 unchanged)") {
			t.Errorf("diff of an app in sync:\n%s", out)
		}
	})

	t.Run("events", func(t *testing.T) {
		out := ok(t, "events", "--app", "web", "--since", "10m")
		for _, want := range []string{"desired  " + clusterName + "/web " + fleet.Short(sha), "status   " + clusterName + "/web " + fleet.Short(sha) + " succeeded"} {
			if !strings.Contains(out, want) {
				t.Errorf("events lack %q:\n%s", want, out)
			}
		}
	})

	t.Run("trace", func(t *testing.T) {
		var out string
		for _, ref := range []string{pushID, sha[:8]} {
			eventually(t, "trace of "+ref+" with ingest, render and apply spans", func() bool {
				r := ferry(t, "trace", ref)
				out = r.out
				return r.code == 0 && strings.Contains(out, "apply.sync") && strings.Contains(out, "ingest.webhook") && strings.Contains(out, "render.push")
			})
		}
		if h := strings.Fields(strings.Split(out, "\n")[2]); !slices.Equal(h, []string{"OFFSET", "DURATION", "SERVICE", "SPAN"}) {
			t.Errorf("trace header %v:\n%s", h, out)
		}
		ingest, render, apply := rowOf(t, out, "0.0ms"), "", ""
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			switch f[3] {
			case "render.push":
				render = f[2]
			case "apply.sync":
				apply = f[2]
			}
		}
		if ingest[2] != "ferry-ingest" || ingest[3] != "ingest.webhook" || render != "ferry-render" || apply != "ferry-apply" {
			t.Errorf("spans: first %v, render by %q, apply by %q:\n%s", ingest, render, apply, out)
		}
		var tr struct {
			TraceID string `json:"traceId"`
			Spans   []struct {
				Name    string `json:"name"`
				Service string `json:"service"`
				Depth   int    `json:"depth"`
			} `json:"spans"`
		}
		jsonOf(t, &tr, "trace", pushID)
		depth := map[string]int{}
		for _, s := range tr.Spans {
			depth[s.Name] = s.Depth
		}
		if len(tr.TraceID) != 32 || depth["ingest.webhook"] != 0 || depth["render.push"] < 1 || depth["apply.sync"] <= depth["render.push"] {
			t.Errorf("trace json: id %q depths %v", tr.TraceID, depth)
		}
	})
}
