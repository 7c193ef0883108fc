package gitcache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ferrycd/ferry/pkg/gitserver"
)

func newRepo(t *testing.T) *gitserver.Repo {
	t.Helper()
	srv, err := gitserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	repo, err := srv.NewRepo(context.Background(), "apps", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestCheckoutFetchesIncrementally(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t)
	first, err := repo.CommitAndPush(ctx, map[string]string{"app/a.yaml": "a: 1\n", "app/sub/b.json": "{}", "README.md": "hi"}, "first")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := New(dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Checkout(ctx, repo.URL, "main", first)
	if err != nil {
		t.Fatal(err)
	}
	data, err := snap.ReadFile("app/a.yaml")
	if err != nil || string(data) != "a: 1\n" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	if ok, err := snap.Exists("ferry.yaml"); ok || err != nil {
		t.Fatalf("Exists(ferry.yaml) = %v, %v", ok, err)
	}
	if _, err := snap.ReadFile("nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := fstest.TestFS(snap.FS(), "README.md", "app/a.yaml", "app/sub/b.json"); err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(snap.FS(), "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(sub, "a.yaml", "sub/b.json"); err != nil {
		t.Fatal(err)
	}
	snap.Close()

	second, err := repo.CommitAndPush(ctx, map[string]string{"app/a.yaml": "a: 2\n"}, "second")
	if err != nil {
		t.Fatal(err)
	}
	snap, err = c.Checkout(ctx, repo.URL, "main", second)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := snap.ReadFile("app/a.yaml"); string(data) != "a: 2\n" || snap.Superseded() {
		t.Fatalf("second checkout: %q superseded=%v", data, snap.Superseded())
	}
	snap.Close()

	// A redelivered older push is served from the cache and is superseded.
	snap, err = c.Checkout(ctx, repo.URL, "main", first)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Superseded() || snap.Tip.String() != second {
		t.Fatalf("old checkout: superseded=%v tip=%s", snap.Superseded(), snap.Tip)
	}
	snap.Close()

	if got, want := c.Stats(), (Stats{Inits: 1, Fetches: 2, Hits: 1}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("cache dir holds %d entries, want one bare repository", len(ents))
	}

	// A new process reuses the bare repository on disk: no second init.
	c2, err := New(dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	snap, err = c2.Checkout(ctx, repo.URL, "main", second)
	if err != nil {
		t.Fatal(err)
	}
	snap.Close()
	if got := c2.Stats(); got.Inits != 0 || got.Fetches != 0 || got.Hits != 1 {
		t.Fatalf("restart stats = %+v, want a cache hit", got)
	}
}

func TestCheckoutErrors(t *testing.T) {
	ctx := context.Background()
	c, err := New(t.TempDir(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Checkout(ctx, "http://127.0.0.1:1/none.git", "main", "0123456789012345678901234567890123456789"); err == nil {
		t.Fatal("unreachable remote: want an error")
	}
	if _, err := c.Checkout(ctx, "http://127.0.0.1:1/none.git", "main", "HEAD"); err == nil {
		t.Fatal("symbolic revision: want an error")
	}
	repo := newRepo(t)
	if _, err := repo.CommitAndPush(ctx, map[string]string{"a.yaml": "a: 1\n"}, "first"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Checkout(ctx, repo.URL, "main", "0123456789012345678901234567890123456789")
	if !errors.Is(err, ErrRevisionNotFound) {
		t.Fatalf("unknown commit: %v, want ErrRevisionNotFound", err)
	}
}
