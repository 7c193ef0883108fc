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
