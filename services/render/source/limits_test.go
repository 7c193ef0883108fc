package source

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	ri "helm.sh/helm/v4/pkg/release"

	"github.com/ferrycd/ferry/pkg/manifest"
)

// readAll reads every file under dir of fsys through fs.Sub, the way the
// tools reach an app directory.
func readAll(t *testing.T, fsys fs.FS, dir string) error {
	t.Helper()
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return err
	}
	return fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = fs.ReadFile(sub, p)
		return err
	})
}

// The read budget counts distinct files, across sub-directories, and not
// directories or files read again; the first read over a limit fails with
// the limit's *Error, and so does every read after it.
func TestReadBudget(t *testing.T) {
	tree := fstest.MapFS{
		"base/a.yaml": {Data: []byte("12345")},
		"app/b.yaml":  {Data: []byte("12345")},
		"app/c.yaml":  {Data: []byte("12345")},
	}
	cases := []struct {
		name string
		lim  Limits
		flag string // empty: within the limits
	}{
		{"within", Limits{MaxRepoFiles: 3, MaxRepoBytes: 15}, ""},
		{"files", Limits{MaxRepoFiles: 2}, FlagMaxRepoFiles},
		{"bytes", Limits{MaxRepoBytes: 14}, FlagMaxRepoBytes},
		{"no limits", Limits{MaxRepoFiles: -1, MaxRepoBytes: -1}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &readBudget{lim: tc.lim, seen: map[string]bool{}}
			root := &limitFS{inner: tree, prefix: ".", b: b}
			var err error
			for _, dir := range []string{"base", "app", "app", "."} { // app twice, then everything again
				if err = readAll(t, root, dir); err != nil {
					break
				}
			}
			if tc.flag == "" {
				if err != nil || b.exceeded() != nil {
					t.Fatalf("read: %v, budget %v; want no error", err, b.exceeded())
				}
				if len(b.seen) != 3 || b.bytes != 15 {
					t.Errorf("counted %d files, %d bytes; want 3, 15", len(b.seen), b.bytes)
				}
				return
			}
			var le *LimitError
			var se *Error
			if !errors.As(err, &le) || le.Flag != tc.flag || !errors.As(err, &se) || se.File != "app/c.yaml" || !errors.Is(err, ErrLimit) {
				t.Fatalf("read: %v; want the %s limit at app/c.yaml", err, tc.flag)
			}
			if _, err := fs.ReadFile(root, "base/a.yaml"); !errors.As(err, &le) {
				t.Errorf("a read after the limit = %v, want the limit error again", err)
			}
		})
	}
}

// Opening a file counts it as a read; opening a directory does not.
func TestReadBudgetOpen(t *testing.T) {
	b := &readBudget{lim: Limits{MaxRepoFiles: 1}, seen: map[string]bool{}}
	root := &limitFS{inner: fstest.MapFS{"d/a": {Data: []byte("x")}, "d/b": {Data: []byte("y")}}, prefix: ".", b: b}
	for _, name := range []string{".", "d", "d/a", "d/a"} {
		f, err := root.Open(name)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		_ = f.Close()
	}
	if _, err := root.Open("d/b"); !errors.Is(err, ErrLimit) {
		t.Errorf("open of a second file = %v, want the file limit", err)
	}
}

// templateWithin returns what the template returns in time, the limit
// error when it takes longer, and the caller's error when the caller
// gives up first.
func TestTemplateWithin(t *testing.T) {
	quick := func(context.Context) (ri.Releaser, error) { return "done", nil }
	release := make(chan struct{})
	defer close(release)
	slow := func(context.Context) (ri.Releaser, error) { <-release; return "late", nil } // ignores its context, as helm does
	watching := func(ctx context.Context) (ri.Releaser, error) { <-ctx.Done(); return nil, ctx.Err() }

	if rel, err := templateWithin(t.Context(), time.Minute, "app", quick); err != nil || rel != "done" {
		t.Errorf("quick = %v, %v; want done", rel, err)
	}
	failing := func(context.Context) (ri.Releaser, error) { return nil, errors.New("template: boom") }
	// Many times over: a finished template and its context must never
	// race into the limit's error. (They did in a CI run, when the
	// goroutine cancelled the context as it ended; this loop seldom
	// reproduces that timing, the structure of templateWithin rules it out.)
	for i := range 500 {
		if _, err := templateWithin(t.Context(), time.Minute, "app", failing); err == nil || err.Error() != "template: boom" {
			t.Fatalf("failing, run %d = %v; want its own error", i, err)
		}
		if rel, err := templateWithin(t.Context(), time.Minute, "app", quick); err != nil || rel != "done" {
			t.Fatalf("quick, run %d = %v, %v; want done", i, rel, err)
		}
	}
	if rel, err := templateWithin(t.Context(), 0, "app", quick); err != nil || rel != "done" {
		t.Errorf("quick without limit = %v, %v; want done", rel, err)
	}
	for name, tpl := range map[string]func(context.Context) (ri.Releaser, error){"ignoring": slow, "watching": watching} {
		_, err := templateWithin(t.Context(), 20*time.Millisecond, "charts/web", tpl)
		var se *Error
		if !errors.As(err, &se) || se.File != "charts/web/Chart.yaml" || !strings.Contains(err.Error(), "--helm-timeout") ||
			!strings.Contains(err.Error(), "longer than 20ms") {
			t.Errorf("%s its context: %v; want the helm-timeout limit on charts/web/Chart.yaml", name, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := templateWithin(ctx, time.Minute, "app", slow); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller = %v, want context.Canceled", err)
	}
}

// CheckObjects counts objects and measures each as JSON.
func TestCheckObjects(t *testing.T) {
	objs, err := manifest.Parse("t", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata: {v: \""+
		strings.Repeat("x", 200)+"\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxObjects: 2, MaxObjectBytes: 300}, ""},
		{Limits{}, ""},
		{Limits{MaxObjects: 1}, "number of objects rendered from app is 2, over the limit of 1"},
		{Limits{MaxObjectBytes: 200}, "object ConfigMap/ns/a rendered from app (as JSON) is 2"},
	} {
		err := CheckObjects("app", objs, tc.lim)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("limits %+v: %v, want %q", tc.lim, err, tc.want)
		}
	}
}

// The redactor learns from files up to maxCollectFile bytes: a failed
// render of huge files must not cost many times their size to redact.
func TestCollectSkipsHugeFiles(t *testing.T) {
	secret := func(value string, pad int) []byte {
		return []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: " + value + "}\n# " + strings.Repeat("x", pad) + "\n")
	}
	tree := fstest.MapFS{
		"small.yaml": {Data: secret("small-secret-value", 10)},
		"huge.yaml":  {Data: secret("huge-secret-value", maxCollectFile)},
	}
	var r Redactor
	r.Collect(tree, map[string]Access{"small.yaml": Read, "huge.yaml": Read, "probed.yaml": Probe})
	if got := r.Redact("small-secret-value huge-secret-value"); got != Redacted+" huge-secret-value" {
		t.Errorf("redacted %q; want only the small file's secret learned", got)
	}
}
