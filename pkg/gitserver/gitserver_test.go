package gitserver

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPushAndClone(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	repo, err := srv.NewRepo(ctx, "demo", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sha, err := repo.CommitAndPush(ctx, map[string]string{"app/cm.yaml": "kind: ConfigMap"}, "first")
	if err != nil {
		t.Fatal(err)
	}
	// A plain `git push` from the working clone works, as the quickstart tells users.
	if _, err := repo.Commit(ctx, map[string]string{"app/cm.yaml": "kind: ConfigMap # v2"}, "second"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", repo.WorkDir, "push", "-q").CombinedOutput(); err != nil {
		t.Fatalf("plain git push: %v: %s", err, out)
	}
	if sha, err = repo.Head(ctx); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "--quiet", repo.URL, dst).CombinedOutput(); err != nil {
		t.Fatalf("clone over http: %v: %s", err, out)
	}
	out, err := exec.Command("git", "-C", dst, "rev-parse", "HEAD").Output()
	if err != nil || strings.TrimSpace(string(out)) != sha {
		t.Fatalf("cloned HEAD = %q (%v), want %s", out, err, sha)
	}
}

// TestRelativeRoot: ferry dev serves ./.ferry-dev/git, a relative root,
// while git http-backend runs in another directory.
func TestRelativeRoot(t *testing.T) {
	t.Chdir(t.TempDir())
	srv, err := Start(filepath.Join(".ferry-dev", "git"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if !filepath.IsAbs(srv.Root) {
		t.Errorf("Root = %q, want an absolute path", srv.Root)
	}
	repo, err := srv.NewRepo(t.Context(), "platform", filepath.Join(".ferry-dev", "platform"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CommitAndPush(t.Context(), map[string]string{"ferry.yaml": "apps: []"}, "first"); err != nil {
		t.Fatalf("push to a server with a relative root: %v", err)
	}
}
