package renderer

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// push commits files to r, pushes, publishes the push event with before
// set to the branch's previous head (zeros for the first push) and
// returns before and after.
func (e *env) push(r *gitserver.Repo, files map[string]string) (before, after string) {
	e.t.Helper()
	before = zeroCommit
	if head, err := r.Head(e.ctx); err == nil {
		before = head
	}
	after, err := r.CommitAndPush(e.ctx, files, "change")
	if err != nil {
		e.t.Fatal(err)
	}
	e.publishPushFrom(r.URL, "refs/heads/"+r.Branch, before, after)
	return before, after
}

// testTree reads a directory under ../source/testdata into a file map,
// prefixed with prefix.
func testTree(t testing.TB, dir, prefix string) map[string]string {
	t.Helper()
	root := filepath.Join("..", "source", "testdata", dir)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(filepath.Join(prefix, rel))] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// desiredCounts returns how many desired states each cluster/app holds.
func (e *env) desiredCounts(ids ...string) map[string]uint64 {
	e.t.Helper()
	out := map[string]uint64{}
	for _, id := range ids {
		cluster, app, _ := strings.Cut(id, "/")
		out[id] = e.count(subject.StreamDesired, subject.Desired(cluster, app))
	}
	return out
}

var monoTargets = []string{"staging/web", "prod/web", "prod/worker", "prod/docs"}

// newMonorepo pushes the registry golden case (three apps, two sharing a
// kustomize base) as one repository that is its own platform repository
// and waits for the first render of every app.
func newMonorepo(t *testing.T, e *env) (*gitserver.Repo, string) {
	t.Helper()
	r := e.repo("mono")
	files := testTree(t, "registry/repo", "")
	files["ferry.yaml"] = strings.ReplaceAll(files["ferry.yaml"], "https://git.example.com/org/mono.git", r.URL)
	files["README.md"] = "# monorepo\n"
	_, sha := e.push(r, files)
	for _, id := range monoTargets {
		cluster, app, _ := strings.Cut(id, "/")
		e.waitDesired(cluster, app, sha)
	}
	e.waitSettled()
	return r, sha
}

// A push touching one of three apps yields exactly one desired state; a
// push touching the shared kustomize base yields one for each app using
// it; a push touching nothing an app uses yields none and renders nothing.
func TestMonorepoRendersOnlyWhatChanged(t *testing.T) {
	e := newEnv(t, Options{})
	r, first := newMonorepo(t, e)
	if got := e.desiredCounts(monoTargets...); got["prod/docs"] != 1 || got["staging/web"] != 1 || got["prod/worker"] != 1 || got["prod/web"] != 1 {
		t.Fatalf("first push: desired states %v, want one each", got)
	}
	var web ferryv1.DesiredState
	e.last(subject.StreamDesired, subject.Desired("staging", "web"), &web)
	if web.GetTool() != "kustomize" || web.GetRevision() != first {
		t.Errorf("web: tool %s revision %s", web.GetTool(), web.GetRevision())
	}

	// One app touched.
	c0 := e.counters()
	_, docsRev := e.push(r, map[string]string{"apps/docs/service.yaml": strings.ReplaceAll(e.read(r, "apps/docs/service.yaml"), "8080", "8081")})
	e.waitDesired("prod", "docs", docsRev)
	e.waitSettled()
	if got := e.desiredCounts(monoTargets...); got["prod/docs"] != 2 || got["staging/web"] != 1 || got["prod/web"] != 1 || got["prod/worker"] != 1 {
		t.Errorf("push touching docs: desired states %v, want only prod/docs to gain one", got)
	}
	if c := e.counters(); c.Renders-c0.Renders != 1 || c.Skips-c0.Skips != 3 {
		t.Errorf("push touching docs: %d renders, %d skips; want 1 and 3", c.Renders-c0.Renders, c.Skips-c0.Skips)
	}

	// The shared base touched: both apps using it, on every destination.
	_, baseRev := e.push(r, map[string]string{"shared/base/deployment.yaml": strings.ReplaceAll(e.read(r, "shared/base/deployment.yaml"), "app:1.0.0", "app:1.1.0")})
	for _, id := range []string{"staging/web", "prod/web", "prod/worker"} {
		cluster, app, _ := strings.Cut(id, "/")
		e.waitDesired(cluster, app, baseRev)
	}
	e.waitSettled()
	if got := e.desiredCounts(monoTargets...); got["prod/docs"] != 2 || got["staging/web"] != 2 || got["prod/web"] != 2 || got["prod/worker"] != 2 {
		t.Errorf("push touching the shared base: desired states %v, want web and worker to gain one each", got)
	}

	// Nothing any app uses: a README and a file next to (not in) an app.
	c1 := e.counters()
	e.push(r, map[string]string{"README.md": "# changed\n", "apps/NOTES.md": "notes\n"})
	e.waitSettled()
	if got := e.desiredCounts(monoTargets...); got["prod/docs"] != 2 || got["staging/web"] != 2 || got["prod/web"] != 2 || got["prod/worker"] != 2 {
		t.Errorf("push touching no app: desired states %v, want unchanged", got)
	}
	if c := e.counters(); c.Renders != c1.Renders || c.Skips-c1.Skips != 4 {
		t.Errorf("push touching no app rendered %d times (skips %d), want 0 renders and 4 skips", c.Renders-c1.Renders, c.Skips-c1.Skips)
	}
}

// A forced push (before is not an ancestor of after) and a first push
// render every app; identical output is still not published again.
func TestForcedPushRendersEverything(t *testing.T) {
	e := newEnv(t, Options{})
	r, first := newMonorepo(t, e)
	_, second := e.push(r, map[string]string{"apps/docs/service.yaml": strings.ReplaceAll(e.read(r, "apps/docs/service.yaml"), "8080", "9090")})
	e.waitDesired("prod", "docs", second)
	e.waitSettled()

	// Rewrite history: drop the second commit and push another on top of the first.
	if _, err := gitOut(r.WorkDir, "reset", "--hard", first); err != nil {
		t.Fatal(err)
	}
	c0 := e.counters()
	forced, err := r.CommitAndPush(e.ctx, map[string]string{"apps/docs/extra.yaml": configMap("extra")}, "rewritten")
	if err != nil {
		t.Fatal(err)
	}
	e.publishPushFrom(r.URL, "refs/heads/main", second, forced)
	e.waitDesired("prod", "docs", forced)
	e.waitSettled()
	c := e.counters()
	if rendered := c.Renders + c.CacheHits - c0.Renders - c0.CacheHits; rendered != 4 || c.Skips != c0.Skips {
		t.Errorf("forced push: %d renders or cache hits, %d skips; want all 4 targets rendered", rendered, c.Skips-c0.Skips)
	}
	if got := e.desiredCounts(monoTargets...); got["prod/docs"] != 3 || got["staging/web"] != 1 || got["prod/web"] != 1 || got["prod/worker"] != 1 {
		t.Errorf("forced push: desired states %v; only docs changed output", got)
	}
}

// read returns a file of r's working clone.
func (e *env) read(r *gitserver.Repo, name string) string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.WorkDir, filepath.FromSlash(name)))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}
