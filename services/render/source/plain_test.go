package source

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ferrycd/ferry/pkg/manifest"
)

func cm(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
}

func render(t *testing.T, fsys fstest.MapFS, path string) ([]byte, Tool, error) {
	t.Helper()
	tool, err := Detect(fsys, Tools())
	if err != nil {
		return nil, nil, err
	}
	root := fstest.MapFS{}
	for name, f := range fsys {
		root[join(path, name)] = f
	}
	out, err := tool.Render(context.Background(), Request{Root: root, Path: path})
	return out, tool, err
}

func TestPlainOrderAndFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"b.yaml":             {Data: []byte(cm("b"))},
		"a.yml":              {Data: []byte("---\n" + cm("a") + "---\n")},
		"nested/deep/c.json": {Data: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`)},
		"nested/d.yaml":      {Data: []byte(strings.TrimSuffix(cm("d"), "\n"))}, // no trailing newline
		"README.md":          {Data: []byte("# not a manifest")},
		".github/ci.yaml":    {Data: []byte("on: push")},
		".hidden.yaml":       {Data: []byte("nope: 1")},
		"ferry.yaml":         {Data: []byte("apps: []")},
	}
	out, tool, err := render(t, fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if tool.Name() != "plain" {
		t.Fatalf("tool = %s", tool.Name())
	}
	objs, err := manifest.Parse("out", out)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if got := strings.Join(names, ","); got != "a,b,d,c" {
		t.Fatalf("objects = %s, want a,b,d,c (path order: a.yml, b.yaml, nested/d.yaml, nested/deep/c.json)", got)
	}
}

func TestPlainFerryYAMLOnlySkippedAtRoot(t *testing.T) {
	fsys := fstest.MapFS{"ferry.yaml": {Data: []byte(cm("x"))}}
	out, _, err := render(t, fsys, "app")
	if err != nil || !strings.Contains(string(out), "name: x") {
		t.Fatalf("ferry.yaml below the root is a manifest like any other: %q, %v", out, err)
	}
}

func TestPlainErrors(t *testing.T) {
	cases := []struct {
		name string
		fsys fstest.MapFS
		file string
		is   error
	}{
		{"bad yaml", fstest.MapFS{"ok.yaml": {Data: []byte(cm("ok"))}, "sub/bad.yaml": {Data: []byte("kind: [\n")}}, "guestbook/sub/bad.yaml", manifest.ErrInvalid},
		{"no kind", fstest.MapFS{"x.json": {Data: []byte(`{"apiVersion":"v1","metadata":{"name":"x"}}`)}}, "guestbook/x.json", manifest.ErrInvalid},
		{"kustomize unknown field", fstest.MapFS{"kustomization.yaml": {Data: []byte("resourcez: []")}}, "guestbook/kustomization.yaml", nil},
		{"kustomize remote base", fstest.MapFS{"kustomization.yaml": {Data: []byte("resources:\n- ../local\n- https://github.com/org/repo//base?ref=v1\n")}}, "guestbook/kustomization.yaml", ErrUnsupported},
		{"helm chart without version", fstest.MapFS{"Chart.yaml": {Data: []byte("apiVersion: v2\nname: x")}}, "guestbook/Chart.yaml", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := render(t, tc.fsys, "guestbook")
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *source.Error", err)
			}
			if re.File != tc.file || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("file = %q (%v), want %q", re.File, err, tc.file)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

func TestPlainEmpty(t *testing.T) {
	out, _, err := render(t, fstest.MapFS{"README.md": {Data: []byte("x")}}, ".")
	if err != nil || len(out) != 0 {
		t.Fatalf("empty dir = %q, %v", out, err)
	}
}

func TestTrimSeparators(t *testing.T) {
	cases := map[string]string{
		"---\na: 1\n---\n":     "a: 1",
		"---\r\na: 1":          "a: 1",
		"a: 1\n---\nb: 2\n---": "a: 1\n---\nb: 2",
		"---":                  "",
		"\n---\n---\na: 1\n\n": "a: 1",
		"a: '---'":             "a: '---'",
	}
	for in, want := range cases {
		if got := string(trimSeparators([]byte(in))); got != want {
			t.Errorf("trimSeparators(%q) = %q, want %q", in, got, want)
		}
	}
}
