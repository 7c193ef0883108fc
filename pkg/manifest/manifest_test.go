package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := Join(
		[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}"),
		[]byte("---\n# only a comment\n"),
		[]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"x"}}]}`),
	)
	objs, err := Parse("test", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || Ref(objs[0]) != "ConfigMap/a" || Ref(objs[1]) != "Secret/x/s" {
		t.Fatalf("got %d objects: %v", len(objs), objs)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no kind":    "apiVersion: v1\nmetadata: {name: a}\n",
		"no name":    "apiVersion: v1\nkind: ConfigMap\n",
		"bad yaml":   "apiVersion: v1\nkind: [ConfigMap\n",
		"not a map":  "- a\n- b\n",
		"second doc": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: :\n",
	} {
		_, err := Parse("f.yaml", []byte(in))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "f.yaml") {
			t.Errorf("%s: err = %v, want ErrInvalid naming the file", name, err)
		}
	}
}

func TestJoinAddsMissingNewline(t *testing.T) {
	got := string(Join([]byte("a: 1"), []byte("b: 2\n")))
	if got != "a: 1\n---\nb: 2\n" {
		t.Fatalf("Join = %q", got)
	}
	if Digest([]byte("x")) == Digest([]byte("y")) || !strings.HasPrefix(Digest(nil), "sha256:") {
		t.Fatal("digest")
	}
}
