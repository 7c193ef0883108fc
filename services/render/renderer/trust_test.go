package renderer

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// registryStatus waits for the newest registry outcome of repo at rev.
func (e *env) registryStatus(repoURL, rev string) *ferryv1.RegistryStatus {
	e.t.Helper()
	var st ferryv1.RegistryStatus
	e.eventually("registry outcome of "+repoURL+"@"+rev, func() bool {
		return e.last(subject.StreamRegistry, subject.Registry(subject.RepoKey(repoURL)), &st) && st.GetRevision() == rev
	})
	return &st
}

// kvEntry returns the registry entry of app.
func (e *env) kvEntry(app string) *registry.Entry {
	e.t.Helper()
	kv, err := e.js.KeyValue(e.ctx, subject.BucketApps)
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := kv.Get(e.ctx, app)
	if err != nil {
		e.t.Fatalf("registry entry %s: %v", app, err)
	}
	entry, err := registry.UnmarshalEntry(v.Value())
	if err != nil {
		e.t.Fatal(err)
	}
	return entry
}

const clusterAdminBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pwned}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}]
`

// An application team's repository that sends signed webhooks cannot
// declare or redeclare apps: its ferry.yaml is ignored with a notice, its
// own app keeps rendering from the destinations the platform gave it.
func TestOnlyThePlatformRepositoryDeclaresApps(t *testing.T) {
	e := newEnv(t, Options{PlatformRepos: []string{"platform"}})
	platform, team := e.repo("platform"), e.repo("team")
	e.commit(platform, map[string]string{"ferry.yaml": platformYAML(
		"  - {name: team-app, source: {repo: " + team.URL + ", path: app}, destinations: [{cluster: staging, namespace: team}]}\n")})
	e.eventually("team-app registered", func() bool { return slices.Equal(e.kvApps(), []string{"team-app"}) })

	takeover := platformYAML(
		"  - {name: team-app, source: {repo: "+team.URL+", path: app}, destinations: [{cluster: prod, namespace: kube-system}]}\n",
		"  - {name: guestbook, source: {repo: "+team.URL+", path: evil}, destinations: [{cluster: prod}]}\n")
	rev, _ := e.commit(team, map[string]string{"ferry.yaml": takeover, "app/cm.yaml": configMap("team"), "evil/crb.yaml": clusterAdminBinding})

	st := e.registryStatus(team.URL, rev)
	if st.GetOutcome() != ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED || !strings.Contains(st.GetReason(), "not a platform repository") {
		t.Fatalf("team's ferry.yaml: outcome %v, reason %q; want IGNORED naming the platform repository", st.GetOutcome(), st.GetReason())
	}
	e.waitDesired("staging", "team-app", rev)
	e.waitSettled()
	if got := e.kvApps(); !slices.Equal(got, []string{"team-app"}) {
		t.Errorf("registry holds %v after the team's push, want only team-app", got)
	}
	if entry := e.kvEntry("team-app"); len(entry.Destinations) != 1 || entry.Destinations[0].Cluster != "staging" || entry.Platform != platform.URL {
		t.Errorf("team-app is now %+v, want the platform's declaration", entry)
	}
	for _, subj := range []string{subject.Desired("prod", "team-app"), subject.Desired("prod", "guestbook")} {
		if n := e.count(subject.StreamDesired, subj); n != 0 {
			t.Errorf("%d desired states on %s, want none", n, subj)
		}
	}
}

// A repository that no app uses is never fetched, whatever its webhook
// says, and one the platform repository is not: its ferry.yaml is not
// even read.
func TestUnregisteredRepositoryIsNotFetched(t *testing.T) {
	e := newEnv(t, Options{PlatformRepos: []string{"platform"}})
	platform, stranger := e.repo("platform"), e.repo("stranger")
	e.commit(platform, map[string]string{"ferry.yaml": platformYAML(
		"  - {name: web, source: {repo: " + platform.URL + ", path: web}, destinations: [{cluster: c1}]}\n"), "web/cm.yaml": configMap("web")})
	e.waitSettled()
	before := e.r.Load().cache.Stats()
	e.commit(stranger, map[string]string{"ferry.yaml": platformYAML(
		"  - {name: web, source: {repo: " + stranger.URL + ", path: x}, destinations: [{cluster: c1}]}\n"), "x/crb.yaml": clusterAdminBinding})
	e.waitSettled()
	if after := e.r.Load().cache.Stats(); after.Fetches != before.Fetches || after.Inits != before.Inits {
		t.Errorf("a push of an unregistered repository fetched: %+v → %+v", before, after)
	}
	if entry := e.kvEntry("web"); entry.Source.Repo != platform.URL {
		t.Errorf("web's source is now %s", entry.Source.Repo)
	}
}

// Two platform repositories may not redeclare each other's apps: the
// second declaration is rejected whole, with the reason, and the
// registry keeps the first.
func TestPlatformRepositoriesCannotTakeOverEachOther(t *testing.T) {
	e := newEnv(t, Options{PlatformRepos: []string{"platform-a", "platform-b"}})
	a, b := e.repo("platform-a"), e.repo("platform-b")
	e.commit(a, map[string]string{"ferry.yaml": platformYAML("  - {name: shared, source: {repo: " + a.URL + ", path: app}, destinations: [{cluster: c1}]}\n"),
		"app/cm.yaml": configMap("a")})
	e.eventually("shared registered", func() bool { return slices.Equal(e.kvApps(), []string{"shared"}) })
	rev, _ := e.commit(b, map[string]string{"ferry.yaml": platformYAML(
		"  - {name: shared, source: {repo: "+b.URL+", path: app}, destinations: [{cluster: c1}]}\n",
		"  - {name: own, source: {repo: "+b.URL+", path: app}, destinations: [{cluster: c1}]}\n"), "app/cm.yaml": configMap("b")})
	st := e.registryStatus(b.URL, rev)
	if st.GetOutcome() != ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED || !strings.Contains(st.GetReason(), `app "shared" belongs to platform repository `+a.URL) {
		t.Fatalf("platform-b's ferry.yaml: outcome %v, reason %q; want REJECTED naming shared's owner", st.GetOutcome(), st.GetReason())
	}
	e.waitSettled()
	if entry := e.kvEntry("shared"); entry.Platform != a.URL || entry.Source.Repo != a.URL {
		t.Errorf("shared is now %+v, want platform-a's", entry)
	}
	if got := e.kvApps(); !slices.Equal(got, []string{"shared"}) {
		t.Errorf("registry holds %v; a rejected ferry.yaml must add nothing", got)
	}
}

// An invalid ferry.yaml is a visible state of the platform repository:
// REJECTED with the parser's reason, the previous registry in force, and
// ACCEPTED again once fixed.
func TestRejectedRegistryIsPublished(t *testing.T) {
	e := newEnv(t, Options{PlatformRepos: []string{"platform"}})
	p := e.repo("platform")
	app := "  - {name: web, source: {repo: " + p.URL + ", path: web}, destinations: [{cluster: c1}]}\n"
	good, _ := e.commit(p, map[string]string{"ferry.yaml": platformYAML(app), "web/cm.yaml": configMap("web")})
	if st := e.registryStatus(p.URL, good); st.GetOutcome() != ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED || !slices.Equal(st.GetApps(), []string{"web"}) {
		t.Fatalf("good ferry.yaml: %v %v", st.GetOutcome(), st.GetApps())
	}
	for _, bad := range []struct{ name, yaml, reason string }{
		{"duplicate", platformYAML(app, app), "duplicate app name"},
		{"dot-dot path", platformYAML("  - {name: web, source: {repo: " + p.URL + ", path: ../etc}, destinations: [{cluster: c1}]}\n"), `must not contain ".."`},
		{"file url", platformYAML("  - {name: web, source: {repo: 'file:///etc', path: web}, destinations: [{cluster: c1}]}\n"), "scheme"},
	} {
		rev, _ := e.commit(p, map[string]string{"ferry.yaml": bad.yaml})
		st := e.registryStatus(p.URL, rev)
		if st.GetOutcome() != ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED || !strings.Contains(st.GetReason(), bad.reason) || st.GetFile() != "ferry.yaml" {
			t.Errorf("%s: outcome %v, reason %q, file %q; want REJECTED with %q", bad.name, st.GetOutcome(), st.GetReason(), st.GetFile(), bad.reason)
		}
		if entry := e.kvEntry("web"); entry.Source.Path != "web" || entry.Source.Repo != p.URL {
			t.Errorf("%s: web is now %+v, want the last accepted declaration", bad.name, entry.Source)
		}
	}
	fixed, _ := e.commit(p, map[string]string{"ferry.yaml": platformYAML(app)})
	if st := e.registryStatus(p.URL, fixed); st.GetOutcome() != ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED {
		t.Errorf("fixed ferry.yaml: %v", st.GetOutcome())
	}
}

// A push is exactly the repository it names: on a case-sensitive host
// Config is another repository than config, and a clone URL render may
// not fetch (file://) is terminated at once without a fetch.
func TestPushIsTheRepositoryItNames(t *testing.T) {
	e := newEnv(t, Options{PlatformRepos: []string{"platform"}})
	platform, lower, upper := e.repo("platform"), e.repo("config"), e.repo("Config")
	e.commit(platform, map[string]string{"ferry.yaml": platformYAML(
		"  - {name: cfg, source: {repo: " + lower.URL + ", path: app}, destinations: [{cluster: c1}]}\n")})
	good, _ := e.commit(lower, map[string]string{"app/cm.yaml": configMap("lower")})
	e.waitDesired("c1", "cfg", good)
	e.waitSettled()

	foreign, _ := e.commit(upper, map[string]string{"app/cm.yaml": configMap("upper")})
	e.waitSettled()
	var ds ferryv1.DesiredState
	if e.last(subject.StreamDesired, subject.Desired("c1", "cfg"), &ds); ds.GetRevision() != good {
		t.Errorf("a push to Config moved cfg to %s (Config's %s), want config's %s", ds.GetRevision(), foreign, good)
	}
	var res ferryv1.SyncResult
	if e.last(subject.StreamStatus, subject.Status("c1", "cfg"), &res) {
		t.Errorf("a push to Config published a status for cfg: %v %s", res.GetPhase(), res.GetMessage())
	}
	if subject.RepoKey(lower.URL) == subject.RepoKey(upper.URL) {
		t.Errorf("config and Config share the subject key %s", subject.RepoKey(lower.URL))
	}

	before := e.r.Load().cache.Stats()
	e.publishPush("file:///etc", "refs/heads/main", good)
	e.waitSettled()
	if after := e.r.Load().cache.Stats(); after != before {
		t.Errorf("a file:// push touched the git cache: %+v → %+v", before, after)
	}
	if !strings.Contains(e.logs.String(), "push names no repository render may fetch") {
		t.Error("the file:// push was not logged as terminal")
	}

	// Another spelling of the registered repository renders from the
	// registered URL.
	next, err := lower.CommitAndPush(e.ctx, map[string]string{"app/cm.yaml": configMap("next")}, "next")
	if err != nil {
		t.Fatal(err)
	}
	e.publishPush(strings.TrimSuffix(lower.URL, ".git")+"/", "refs/heads/main", next)
	if ds := e.waitDesired("c1", "cfg", next); ds.GetRepoUrl() != lower.URL {
		t.Errorf("desired state names %s, want the registered %s", ds.GetRepoUrl(), lower.URL)
	}
}
