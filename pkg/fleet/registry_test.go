package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const (
	platformURL = "https://git.example.com/org/platform.git"
	appsURL     = "https://git.example.com/org/apps.git"
)

func reading(repo, rev string, outcome ferryv1.RegistryOutcome, reason string, apps ...string) *ferryv1.RegistryStatus {
	st := &ferryv1.RegistryStatus{RepoUrl: repo, Ref: "refs/heads/main", Revision: rev, Outcome: outcome, Reason: reason, Apps: apps}
	if outcome == ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED {
		st.File = "ferry.yaml"
	}
	return st
}

func (e *env) registry(st *ferryv1.RegistryStatus) {
	e.t.Helper()
	e.publish(subject.Registry(subject.RepoKey(st.GetRepoUrl())), st)
}

const (
	accepted = ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED
	rejected = ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED
	ignored  = ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED
)

func TestRegistryRejectionUntilAccepted(t *testing.T) {
	e := newEnv(t)
	if got, err := e.c.RegistryRejections(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("no readings yet: %v, %v", got, err)
	}
	e.registry(reading(platformURL, "aaaaaaaa1", accepted, "", "web", "api"))
	e.registry(reading(appsURL, "cccccccc3", ignored, "not the platform repository"))
	e.registry(reading(platformURL, "bbbbbbbb2", rejected, "ferry.yaml: app \"web\" is declared twice\nline 7"))

	all, err := e.c.Registry(t.Context())
	if err != nil || len(all) != 2 {
		t.Fatalf("registry = %+v, %v", all, err)
	}
	rej, err := e.c.RegistryRejections(t.Context())
	if err != nil || len(rej) != 1 {
		t.Fatalf("rejections = %+v, %v", rej, err)
	}
	r := rej[0]
	if r.Latest.GetRevision() != "bbbbbbbb2" || r.InForce.GetRevision() != "aaaaaaaa1" || r.InForceRevision() != "aaaaaaa" {
		t.Errorf("rejection = latest %v, in force %v", r.Latest, r.InForce)
	}
	want := `ferry.yaml of git.example.com/org/platform at bbbbbbb rejected: ferry.yaml: app "web" is declared twice — the registry from aaaaaaa stays in force`
	if got := r.Banner(); got != want {
		t.Errorf("banner\n got %q\nwant %q", got, want)
	}

	// A second rejection keeps the same registry in force.
	e.registry(reading(platformURL, "eeeeeeee5", rejected, "yaml: line 2: did not find expected key"))
	if rej, err := e.c.RegistryRejections(t.Context()); err != nil || len(rej) != 1 || rej[0].InForce.GetRevision() != "aaaaaaaa1" ||
		rej[0].Latest.GetRevision() != "eeeeeeee5" {
		t.Errorf("after a second rejection: %+v, %v", rej, err)
	}

	// A fixed ferry.yaml clears the problem.
	e.registry(reading(platformURL, "dddddddd4", accepted, "", "web"))
	if rej, err := e.c.RegistryRejections(t.Context()); err != nil || len(rej) != 0 {
		t.Errorf("after an accepted reading: %+v, %v", rej, err)
	}
	all, err = e.c.Registry(t.Context())
	if err != nil || len(all) != 2 {
		t.Fatalf("registry = %+v, %v", all, err)
	}
	for _, r := range all {
		if r.InForce != nil {
			t.Errorf("%s: in force %v set while nothing is rejected", r.Subject, r.InForce)
		}
	}
	// The next rejection names the newest accepted registry.
	e.registry(reading(platformURL, "ffffffff6", rejected, "app \"../x\": path leaves the repository"))
	if rej, err := e.c.RegistryRejections(t.Context()); err != nil || len(rej) != 1 || rej[0].InForceRevision() != "ddddddd" {
		t.Errorf("after accepted d and rejected f: %+v, %v", rej, err)
	}
}

func TestRegistryRejectionWithoutAcceptedOne(t *testing.T) {
	e := newEnv(t)
	e.registry(reading(platformURL, "bbbbbbbb2", rejected, "yaml: line 3: mapping values are not allowed"))
	rej, err := e.c.RegistryRejections(t.Context())
	if err != nil || len(rej) != 1 {
		t.Fatalf("rejections = %+v, %v", rej, err)
	}
	if got := rej[0].Banner(); !strings.HasSuffix(got, "the registry from earlier stays in force") {
		t.Errorf("banner = %q", got)
	}
}

func TestRegistryEventsAndFollow(t *testing.T) {
	e := newEnv(t)
	e.registry(reading(platformURL, "aaaaaaaa1", accepted, "", "web", "api"))
	e.registry(reading(appsURL, "cccccccc3", ignored, "not the platform repository"))
	e.registry(reading(platformURL, "bbbbbbbb2", rejected, "path \"../x\" leaves the repository\x1b[2J"))
	evs, err := e.c.Events(t.Context(), Filter{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range evs {
		if ev.Kind != KindRegistry || ev.App != "" || ev.Cluster != "" {
			t.Errorf("event %+v", ev)
		}
		lines = append(lines, ev.Summary())
	}
	want := []string{
		"registry git.example.com/org/platform@aaaaaaa: 2 apps",
		"registry ferry.yaml in git.example.com/org/apps@ccccccc ignored: not a platform repository",
		`registry git.example.com/org/platform@bbbbbbb rejected: path "../x" leaves the repository\u001b[2J; the previous registry stays in force`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// An app's events leave the registry out, like pushes.
	if evs, err := e.c.Events(t.Context(), Filter{App: "web"}, time.Time{}); err != nil || len(evs) != 0 {
		t.Errorf("web's events = %+v, %v", evs, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	ch, err := e.c.Follow(ctx, Filter{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.registry(reading(platformURL, "dddddddd4", accepted, "", "web"))
	select {
	case ev := <-ch:
		if ev.Kind != KindRegistry || ev.Summary() != "registry git.example.com/org/platform@ddddddd: 1 app" {
			t.Errorf("followed %+v: %q", ev, ev.Summary())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no registry event followed")
	}
	cancel()
	for range ch {
	}
}

func TestRegistryStreamMissing(t *testing.T) {
	e := newEnv(t)
	if err := e.js.DeleteStream(t.Context(), subject.StreamRegistry); err != nil {
		t.Fatal(err)
	}
	if got, err := e.c.Registry(t.Context()); err != nil || got != nil {
		t.Errorf("registry without its stream = %v, %v", got, err)
	}
	if _, err := e.c.Events(t.Context(), Filter{}, time.Time{}); err != nil {
		t.Errorf("events without the registry stream: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := e.c.Follow(ctx, Filter{}, time.Time{}); err != nil {
		t.Errorf("follow without the registry stream: %v", err)
	}
}

func TestRepoNameHidesCredentials(t *testing.T) {
	for url, want := range map[string]string{
		"https://ferry:s3cret@git.example.com/org/platform.git": "https://git.example.com/org/platform.git",
		"git@git.example.com:org/platform.git":                  "git.example.com/org/platform",
		"::not a url":                                           "the-key",
	} {
		if got := RepoName(url, "the-key"); got != want {
			t.Errorf("RepoName(%q) = %q, want %q", url, got, want)
		}
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "plain", "esc\x1b[31mred", "bidi \u202egnp.exe", "nul\x00", "\u0085next line", "é ü 日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Printable(s)
		if strings.ContainsFunc(got, unprintable) {
			t.Errorf("Printable(%q) = %q keeps an unprintable rune", s, got)
		}
		if !strings.ContainsFunc(s, unprintable) && got != s {
			t.Errorf("Printable(%q) = %q changed printable text", s, got)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r == '\x1b' }) && !strings.Contains(got, `\u001b`) {
			t.Errorf("Printable(%q) = %q lost the escape", s, got)
		}
	})
}
