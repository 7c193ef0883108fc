package renderer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/manifest"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// A platform repository declares an app living in another repository; a
// push to that repository renders one DesiredState per destination that
// follows the pushed branch.
func TestPushRendersEachDestination(t *testing.T) {
	e := newEnv(t, Options{})
	apps := e.repo("apps")
	platform := e.repo("platform")
	e.commit(platform, map[string]string{"ferry.yaml": platformYAML(`
  - name: guestbook
    source: {repo: ` + apps.URL + `, path: guestbook}
    destinations:
      - {cluster: staging, namespace: guestbook}
      - {cluster: prod, namespace: gb-prod, path: guestbook/prod}
      - {cluster: edge, namespace: edge, ref: release}
    sync: {automated: true, prune: true, createNamespace: true}
`)})
	e.waitSettled()
	if got := e.kvApps(); !slices.Equal(got, []string{"guestbook"}) {
		t.Fatalf("registry = %v, want [guestbook]", got)
	}

	sha, ev := e.commit(apps, map[string]string{
		"guestbook/a.yaml":      configMap("a"),
		"guestbook/prod/p.yaml": configMap("p"),
		"other/x.yaml":          configMap("x"),
	})
	staging := e.waitDesired("staging", "guestbook", sha)
	prod := e.waitDesired("prod", "guestbook", sha)
	e.waitSettled()

	wantStaging := manifest.Join([]byte(configMap("a")), []byte(configMap("p")))
	if string(staging.GetManifests()) != string(wantStaging) {
		t.Errorf("staging manifests:\n%s\nwant\n%s", staging.GetManifests(), wantStaging)
	}
	if staging.GetDigest() != manifest.Digest(wantStaging) {
		t.Errorf("staging digest = %s, want %s", staging.GetDigest(), manifest.Digest(wantStaging))
	}
	if string(prod.GetManifests()) != configMap("p") || prod.GetDigest() != manifest.Digest([]byte(configMap("p"))) {
		t.Errorf("prod renders its overlay path only: %s (%s)", prod.GetManifests(), prod.GetDigest())
	}
	want := &ferryv1.DesiredState{App: "guestbook", Cluster: "staging", Namespace: "guestbook", Revision: sha,
		RepoUrl: apps.URL, Path: "guestbook", Ref: "main", PushId: ev.GetId(), Tool: "plain",
		ReceivedUnixNano: ev.GetReceivedUnixNano(), Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true, CreateNamespace: true}}
	got := &ferryv1.DesiredState{App: staging.App, Cluster: staging.Cluster, Namespace: staging.Namespace, Revision: staging.Revision,
		RepoUrl: staging.RepoUrl, Path: staging.Path, Ref: staging.Ref, PushId: staging.PushId, Tool: staging.Tool,
		ReceivedUnixNano: staging.ReceivedUnixNano, Sync: staging.Sync}
	if got.String() != want.String() {
		t.Errorf("staging desired state:\n got %v\nwant %v", got, want)
	}
	if c := staging.GetCommit(); c.GetId() != sha || c.GetMessage() != "change" || c.GetAuthor() == "" || c.GetTimestampUnix() == 0 {
		t.Errorf("staging desired state's commit = %v, want id %s, message \"change\", an author and a time", c, sha)
	}
	if staging.GetRenderedUnixNano() < ev.GetReceivedUnixNano() {
		t.Errorf("rendered_unix_nano %d before received %d", staging.GetRenderedUnixNano(), ev.GetReceivedUnixNano())
	}
	if prod.GetNamespace() != "gb-prod" || prod.GetPath() != "guestbook/prod" {
		t.Errorf("prod namespace/path = %q %q", prod.GetNamespace(), prod.GetPath())
	}
	if n := e.count(subject.StreamDesired, subject.Desired("edge", "guestbook")); n != 0 {
		t.Errorf("edge follows branch release, yet got %d desired states from a push to main", n)
	}

	// The same push delivered again (a new webhook delivery id) is stored once.
	e.publishPush(apps.URL, "refs/heads/main", sha)
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("staging", "guestbook")); n != 1 {
		t.Errorf("a redelivered push stored %d desired states, want 1", n)
	}
}

// Nested folders, a JSON file and a file without a trailing newline render
// into one valid stream; the platform ferry.yaml lives in the app's own
// repository (and is not rendered as a manifest).
func TestRenderGoldenSameRepo(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.repo("mono")
	sha, _ := e.commit(r, map[string]string{
		"ferry.yaml": platformYAML(`
  - name: mono
    source: {repo: ` + r.URL + `, path: .}
    destinations: [{cluster: local, namespace: demo}]
`),
		"README.md":                "# not rendered",
		"base/service.yaml":        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
		"base/deep/er/config.json": `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-json"}, "data": {"k": "v"}}`,
		"base/no-newline.yml":      strings.TrimSuffix(configMap("no-newline"), "\n"),
		"base/multi.yaml":          "---\n" + configMap("one") + "---\n" + configMap("two") + "---\n",
		"deploy.yaml":              "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n",
		".github/workflow.yaml":    "on: push\n",
	})
	ds := e.waitDesired("local", "mono", sha)
	golden(t, "plain.golden.yaml", ds.GetManifests())
	objs, err := manifest.Parse("golden", ds.GetManifests())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 6 {
		t.Errorf("rendered %d objects, want 6", len(objs))
	}
	if ds.GetPath() != "." || ds.GetTool() != "plain" {
		t.Errorf("path/tool = %q/%q", ds.GetPath(), ds.GetTool())
	}

	// Dropping the app from ferry.yaml removes it from the registry.
	e.commit(r, map[string]string{"ferry.yaml": "apps: []\n"})
	e.waitSettled()
	if got := e.kvApps(); len(got) != 0 {
		t.Errorf("registry after removal = %v, want empty", got)
	}
}

// A second push fetches into the same bare repository instead of cloning again.
func TestSecondPushFetchesIncrementally(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.repo("inc")
	first, _ := e.commit(r, map[string]string{
		"ferry.yaml": platformYAML("  - {name: inc, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: c1}]}\n"),
		"app/a.yaml": configMap("a"),
	})
	e.waitDesired("c1", "inc", first)
	e.waitSettled()
	repos, _ := filepath.Glob(filepath.Join(e.cacheDir, "*.git"))
	if len(repos) != 1 {
		t.Fatalf("cache holds %v, want one bare repository", repos)
	}
	marker := filepath.Join(repos[0], "ferry-test-marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(repos[0], "objects", "pack", "*.pack"))

	second, _ := e.commit(r, map[string]string{"app/b.yaml": configMap("b")})
	ds := e.waitDesired("c1", "inc", second)
	if !strings.Contains(string(ds.GetManifests()), "name: b") {
		t.Errorf("second render lacks the new file:\n%s", ds.GetManifests())
	}
	after, _ := filepath.Glob(filepath.Join(e.cacheDir, "*.git"))
	if _, err := os.Stat(marker); err != nil || !slices.Equal(after, repos) {
		t.Fatalf("the cached repository was replaced (marker: %v, repos %v → %v)", err, repos, after)
	}
	for _, p := range packs {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("pack of the first fetch is gone (%v): not an incremental fetch", err)
		}
	}
}

// Bad YAML publishes RenderFailed naming the file and no desired state;
// the cluster keeps the last good revision.
func TestBadYAMLPublishesRenderFailed(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.repo("bad")
	good, _ := e.commit(r, map[string]string{
		"ferry.yaml":  platformYAML("  - {name: web, source: {repo: " + r.URL + ", path: web}, destinations: [{cluster: prod}]}\n"),
		"web/ok.yaml": configMap("ok"),
	})
	e.waitDesired("prod", "web", good)
	broken, ev := e.commit(r, map[string]string{"web/sub/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n"})
	res := e.waitStatus("prod", "web", broken)
	e.waitSettled()
	if res.GetPhase() != ferryv1.Phase_PHASE_RENDER_FAILED || res.GetFile() != "web/sub/bad.yaml" ||
		!strings.Contains(res.GetMessage(), "web/sub/bad.yaml") || res.GetPushId() != ev.GetId() || res.GetApp() != "web" {
		t.Errorf("status = %v", res)
	}
	var ds ferryv1.DesiredState
	if !e.last(subject.StreamDesired, subject.Desired("prod", "web"), &ds) || ds.GetRevision() != good {
		t.Errorf("last desired revision = %s, want the last good %s", ds.GetRevision(), good)
	}
	if n := e.count(subject.StreamDesired, subject.Desired("prod", "web")); n != 1 {
		t.Errorf("desired states = %d, want 1", n)
	}

	// An invalid ferry.yaml keeps the previous registry.
	// The fix renders exactly what the last good revision had: same
	// digest, so nothing is published and nothing is applied again.
	e.commit(r, map[string]string{"web/sub/bad.yaml": "", "ferry.yaml": "apps: [{name: Web}]\n"})
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("prod", "web")); n != 1 {
		t.Errorf("desired states after the fix = %d, want still 1 (same digest as %s)", n, good)
	}
	if got := e.kvApps(); !slices.Equal(got, []string{"web"}) {
		t.Errorf("registry = %v after an invalid ferry.yaml, want [web]", got)
	}
}

// Tags and branch deletions are acked without rendering.
func TestSkipsTagsAndDeletions(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.repo("tags")
	sha, _ := e.commit(r, map[string]string{
		"ferry.yaml":  platformYAML("  - {name: t, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: c}]}\n"),
		"app/cm.yaml": configMap("cm"),
	})
	e.waitDesired("c", "t", sha)
	e.publishPush(r.URL, "refs/tags/v1", sha)
	e.publishPush(r.URL, "refs/heads/main", zeroCommit)
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("c", "t")); n != 1 {
		t.Errorf("desired states = %d, want 1", n)
	}
}

// A repository that cannot be fetched is naked and redelivered, never
// acked; after MaxDeliveries its apps get a failure status.
func TestUnreachableRepoIsRetried(t *testing.T) {
	e := newEnv(t, Options{RetryInitial: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond, MaxDeliveries: 4, FetchTimeout: 2 * time.Second})
	url := "http://127.0.0.1:1/gone.git"
	kv, err := e.js.KeyValue(e.ctx, subject.BucketApps)
	if err != nil {
		t.Fatal(err)
	}
	entry := registry.Entry{App: registry.App{Name: "gone", Source: registry.Source{Repo: url, Path: "."},
		Destinations: []registry.Destination{{Cluster: "prod"}}}, Platform: e.git.RepoURL("platform")}
	data, err := entry.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(e.ctx, "gone", data); err != nil {
		t.Fatal(err)
	}
	e.eventually("render's watcher sees the entry", func() bool {
		r := e.r.Load()
		if r == nil {
			return false
		}
		got, _ := r.apps.get("gone")
		return got != nil
	})
	rev := "0123456789abcdef0123456789abcdef01234567"
	e.publishPush(url, "refs/heads/main", rev)

	e.eventually("a redelivery", func() bool {
		info := e.consumerInfo()
		if info.AckFloor.Stream != 0 {
			t.Fatalf("the push was settled after %d deliveries; want naks first", info.Delivered.Stream)
		}
		return info.NumRedelivered > 0 || info.Delivered.Consumer >= 2
	})
	res := e.waitStatus("prod", "gone", rev)
	if res.GetPhase() != ferryv1.Phase_PHASE_RENDER_FAILED || !strings.Contains(res.GetMessage(), "gave up after 4 attempts") {
		t.Errorf("status = %v", res)
	}
	e.waitSettled()
	if info := e.consumerInfo(); info.Delivered.Consumer != 4 {
		t.Errorf("deliveries = %d, want 4", info.Delivered.Consumer)
	}
}

// The redelivery delay grows exponentially up to RetryMax.
func TestRetryDelayGrows(t *testing.T) {
	r := &renderer{opts: Options{RetryInitial: time.Second, RetryMax: time.Minute}}
	prev := time.Duration(0)
	for n := uint64(1); n <= 5; n++ {
		d := r.retryDelay(n)
		if d < prev/2 || d > time.Minute {
			t.Errorf("delay(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
	if d := r.retryDelay(100); d > time.Minute || d < 30*time.Second {
		t.Errorf("delay(100) = %v, want close to the cap", d)
	}
}
