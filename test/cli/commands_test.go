package cli

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/services/ferry/cli"
)

// greeting is what the cluster runs for app: its ConfigMap's greeting.
func greeting(t *testing.T, app string) string {
	t.Helper()
	cm, err := kube.CoreV1().ConfigMaps(app).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["greeting"]
}

// wantGreeting fails unless the cluster runs greeting for app.
func wantGreeting(t *testing.T, app, want string) {
	t.Helper()
	if got := greeting(t, app); got != want {
		t.Errorf("cluster runs greeting %q, want %q", got, want)
	}
}

// TestCommandsChangeTheCluster: rollback, unpin, suspend, resume and sync
// change what the cluster runs, with progress and exit codes; -o json
// results parse.
func TestCommandsChangeTheCluster(t *testing.T) {
	a := newApp(t, "cmds")
	one, _ := a.push(t, a.files("one", nil), "Say one")
	synced(t, a.name, one)
	two, _ := a.push(t, a.files("two", nil), "Say two")
	synced(t, a.name, two)
	wantGreeting(t, a.name, "two")

	out := ok(t, "rollback", a.name, "--to", one[:7])
	for _, want := range []string{
		clusterName + ": rollback cmds to " + one[:7] + ": sent, waiting for the worker",
		clusterName + ": applied " + one[:7] + " (1 configured, 3 unchanged), awaiting health",
		clusterName + ": ✓ healthy at " + one[:7],
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, out)
		}
	}
	wantGreeting(t, a.name, "one")
	if r := row(t, ok(t, "get", "apps", a.name), a.name, clusterName); r[2] != one[:7] || r[3] != "Synced,Pinned" {
		t.Errorf("after rollback: %v, want %s Synced,Pinned", r, one[:7])
	}

	ok(t, "unpin", a.name, "--cluster", clusterName)
	wantGreeting(t, a.name, "two")

	if out := ok(t, "suspend", a.name); !strings.Contains(out, clusterName+": ✓ automated sync suspended") {
		t.Errorf("suspend output:\n%s", out)
	}
	three, _ := a.push(t, a.files("three", nil), "Say three")
	eventually(t, "revision three held while suspended", func() bool {
		r := ferry(t, "history", a.name)
		return r.code == 0 && strings.Contains(r.out, three[:7]) && strings.Contains(rowOf(t, r.out, three[:7])[5], "held")
	})
	wantGreeting(t, a.name, "two")
	if r := row(t, ok(t, "get", "apps", a.name), a.name, clusterName); r[3] != "Synced,Suspended" {
		t.Errorf("suspended app row %v", r)
	}
	if out := ok(t, "resume", a.name); !strings.Contains(out, clusterName+": ✓ healthy at "+three[:7]) {
		t.Errorf("resume output:\n%s", out)
	}
	wantGreeting(t, a.name, "three")

	var res struct {
		Results []struct {
			Cluster, Verb, CommandID, Phase, Health, Revision string
			Waited, OK                                        bool
		}
	}
	jsonOf(t, &res, "sync", a.name)
	if len(res.Results) != 1 || !res.Results[0].OK || !res.Results[0].Waited || res.Results[0].Phase != "succeeded" ||
		res.Results[0].Health != "healthy" || res.Results[0].Revision != three || res.Results[0].CommandID == "" {
		t.Errorf("sync -o json: %+v", res)
	}
	if out := ok(t, "sync", a.name, "--no-wait"); !strings.Contains(out, clusterName+": sync cmds: sent (command ") {
		t.Errorf("sync --no-wait output:\n%s", out)
	}

	if r := ferry(t, "rollback", a.name); r.code != cli.ExitUsage || !strings.Contains(r.err, "rollback needs --to REVISION") {
		t.Errorf("rollback without --to: exit %d %s", r.code, r.err)
	}
	r := ferry(t, "rollback", a.name, "--to", "deadbeef", "-o", "json")
	var rejected struct{ Results []struct{ OK bool } }
	if r.code != cli.ExitFailed || json.Unmarshal([]byte(r.out), &rejected) != nil || len(rejected.Results) != 1 || rejected.Results[0].OK ||
		!strings.Contains(r.err, "✗ rejected") {
		t.Errorf("rollback to an unknown revision: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
}
