package cli

import (
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/services/ferry/cli"
)

// badService is refused by the API server's validation (no ports).
const badService = "apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 99999}]\n"

// TestFailedApp: an app whose revision holds an invalid object is Failed
// in get apps, status names the refused object, history says failed, and
// a sync of it exits 3.
func TestFailedApp(t *testing.T) {
	a := newApp(t, "broken")
	sha, _ := a.push(t, a.files("hello", map[string]string{"bad.yaml": badService}), "Add a broken service")
	waitApp(t, a.name, "broken app failed", func(a appJSON) bool { return a.Apps[0].Sync == "Failed" && a.Apps[0].Revision == sha })

	if r := row(t, ok(t, "get", "apps"), a.name, clusterName); r[3] != "Failed" || r[2] != sha[:7] {
		t.Errorf("get apps row %v, want Failed at %s", r, sha[:7])
	}
	status := ok(t, "status", a.name)
	if !strings.Contains(status, "Sync:      Failed") || !strings.Contains(status, "dry run failed") {
		t.Errorf("status of a failed app:\n%s", status)
	}
	if r := row(t, status, "Service", "broken"); r[3] != "failed" || !strings.Contains(strings.Join(r, " "), "99999") {
		t.Errorf("status row of the invalid object: %v", r)
	}
	if r := row(t, status, "ConfigMap", a.name); r[3] != "skipped" {
		t.Errorf("status row of a valid object in a failed sync: %v, want skipped", r)
	}
	if r := row(t, ok(t, "history", a.name), fleet.Short(sha), clusterName); r[5] != "failed" {
		t.Errorf("history row %v, want failed", r)
	}

	r := ferry(t, "sync", a.name)
	if r.code != cli.ExitFailed || !strings.Contains(r.out, clusterName+": ✗ failed at "+sha[:7]) ||
		!strings.Contains(r.err, "sync of broken did not succeed in "+clusterName+": see ferry status broken") {
		t.Errorf("sync of a failed app: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, cli.ExitFailed, r.out, r.err)
	}
}
