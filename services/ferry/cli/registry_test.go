package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const platformRepo = "https://git.example.com/org/platform.git"

// TestGetAppsAndEventsShowRegistryOutcomes runs the CLI against an
// embedded JetStream holding render's readings of ferry.yaml.
func TestGetAppsAndEventsShowRegistryOutcomes(t *testing.T) {
	srv, _, js := natstest.JetStream(t)
	publish := func(repo, rev string, outcome ferryv1.RegistryOutcome, reason string, apps ...string) {
		t.Helper()
		st := &ferryv1.RegistryStatus{RepoUrl: repo, Ref: "refs/heads/main", Revision: rev, Outcome: outcome, Reason: reason, Apps: apps}
		if outcome == ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED {
			st.File = "ferry.yaml"
		}
		if _, err := events.Publish(t.Context(), js, subject.Registry(subject.RepoKey(repo)), st, ""); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := Run(t.Context(), append(args, "--nats-url", srv.ClientURL()), &out, &errOut); code != ExitOK {
			t.Fatalf("ferry %v = %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	const banner = `! ferry.yaml of git.example.com/org/platform at bbbbbbb rejected: app "web" is declared twice — the registry from aaaaaaa stays in force`

	publish(platformRepo, "aaaaaaaa1", ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED, "", "web", "api")
	publish("https://git.example.com/team/apps.git", "cccccccc3", ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED, "not the platform repository")
	if out := run("get", "apps"); strings.HasPrefix(out, "!") {
		t.Errorf("banner while the registry is accepted (an ignored ferry.yaml elsewhere):\n%s", out)
	}
	publish(platformRepo, "bbbbbbbb2", ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED, `app "web" is declared twice`)

	if out := run("get", "apps"); !strings.HasPrefix(out, banner+"\n") {
		t.Errorf("get apps:\n%s\nwant it to start with\n%s", out, banner)
	}
	var data struct {
		Apps       []appView       `json:"apps"`
		Rejections []rejectionView `json:"registryRejections"`
	}
	if err := json.Unmarshal([]byte(run("get", "apps", "-o", "json")), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Rejections) != 1 || data.Rejections[0].Revision != "bbbbbbbb2" || data.Rejections[0].InForce != "aaaaaaaa1" ||
		data.Rejections[0].Reason != `app "web" is declared twice` || "! "+data.Rejections[0].Banner != banner {
		t.Errorf("registryRejections = %+v", data.Rejections)
	}

	out := run("events", "--since", "1h")
	for _, want := range []string{
		"  registry git.example.com/org/platform@aaaaaaa: 2 apps\n",
		"  registry ferry.yaml in git.example.com/team/apps@ccccccc ignored: not a platform repository\n",
		`  registry git.example.com/org/platform@bbbbbbb rejected: app "web" is declared twice; the previous registry stays in force` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("events lack %q:\n%s", want, out)
		}
	}
	var outcomes []string
	for line := range strings.Lines(run("events", "--since", "1h", "-o", "json")) {
		var v eventView
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, v.Outcome)
	}
	if strings.Join(outcomes, ",") != "accepted,ignored,rejected" {
		t.Errorf("outcomes %v", outcomes)
	}

	// A fixed ferry.yaml clears the banner.
	publish(platformRepo, "dddddddd4", ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED, "", "web")
	if out := run("get", "apps"); strings.Contains(out, "rejected") {
		t.Errorf("banner after an accepted reading:\n%s", out)
	}
	if out := run("get", "apps", "-o", "yaml"); strings.Contains(out, "registryRejections") {
		t.Errorf("yaml after an accepted reading:\n%s", out)
	}
}
