package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestRemovedAppLeavesGetAppsButNotHistory runs the CLI against an
// embedded JetStream where web was removed from ferry.yaml in prod and
// pruned: get apps omits it, history shows the removal and its result.
func TestRemovedAppLeavesGetAppsButNotHistory(t *testing.T) {
	srv, _, js := natstest.JetStream(t)
	publish := func(subj string, m proto.Message) {
		t.Helper()
		if _, err := events.Publish(t.Context(), js, subj, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := Run(t.Context(), append(args, "--nats-url", srv.ClientURL()), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	const rev1, rev2 = "aaaaaaaa1111", "bbbbbbbb2222"
	for _, app := range []string{"web", "api"} {
		publish(subject.Desired("prod", app), &ferryv1.DesiredState{App: app, Cluster: "prod", Namespace: app, Revision: rev1,
			Digest: "sha256:1", PushId: "push-1", Commit: &ferryv1.Commit{Id: rev1, Message: "add " + app, Author: "Ada"}})
		publish(subject.Status("prod", app), &ferryv1.SyncResult{App: app, Cluster: "prod", Revision: rev1, Digest: "sha256:1",
			Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY})
	}
	publish(subject.Desired("prod", "web"), &ferryv1.DesiredState{App: "web", Cluster: "prod", Namespace: "web", Revision: rev2,
		PushId: "push-2", Deleted: true})
	publish(subject.Status("prod", "web"), &ferryv1.SyncResult{App: "web", Cluster: "prod", Revision: rev2,
		Phase: ferryv1.Phase_PHASE_SUCCEEDED, Objects: []*ferryv1.ObjectResult{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Namespace: "web", Name: "cfg"}, Action: ferryv1.Action_ACTION_DELETED}}})

	code, out, errOut := run("get", "apps")
	if code != ExitOK {
		t.Fatalf("get apps = %d: %s", code, errOut)
	}
	if !strings.Contains(out, "api ") || strings.Contains(out, "web ") {
		t.Errorf("get apps lists removed web or lacks api:\n%s", out)
	}
	var data struct {
		Apps []appView `json:"apps"`
	}
	if _, out, _ := run("get", "apps", "-o", "json"); json.Unmarshal([]byte(out), &data) != nil || len(data.Apps) != 1 {
		t.Errorf("get apps -o json = %s, want api only", out)
	}
	code, _, errOut = run("get", "apps", "web")
	if code == ExitOK || !strings.Contains(errOut, "removed from the platform repository's ferry.yaml at bbbbbbb") {
		t.Errorf("get apps web = %d: %s, want it named removed", code, errOut)
	}

	code, out, errOut = run("history", "web", "--cluster", "prod")
	if code != ExitOK {
		t.Fatalf("history web = %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "bbbbbbb") || !strings.Contains(lines[1], "succeeded") ||
		!strings.Contains(lines[1], "(removed from the registry)") || !strings.HasPrefix(lines[2], "aaaaaaa") || strings.Contains(lines[2], "removed") {
		t.Errorf("history web:\n%s\nwant the removal (succeeded) above the first revision", out)
	}
	var hist struct {
		Revisions []revisionView `json:"revisions"`
	}
	if _, out, _ := run("history", "web", "--cluster", "prod", "-o", "json"); json.Unmarshal([]byte(out), &hist) != nil ||
		len(hist.Revisions) != 2 || !hist.Revisions[0].Removed || hist.Revisions[1].Removed {
		t.Errorf("history -o json = %s, want the newest marked removed", out)
	}
}
