package repoid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	for _, raw := range []string{
		"", "file:///etc", "FILE:///etc/passwd", "/srv/git/apps.git", "./apps", "ext::sh -c id",
		"https://user:secret@github.com/org/apps.git", "https://github.com/", "https:///org/apps",
		"https://github.com/org/../../etc", "git@github.com:../x", "https://h/x\nfoo", "https://h/a b",
		"https://h/org/apps?x=1", "ftp://h/org/apps", "-oProxyCommand=x:org/apps", strings.Repeat("a", 3000),
	} {
		if _, err := Parse(raw); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Parse(%q) = %v, want ErrUnsupported", raw, err)
		}
	}
}

func TestSame(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"https://github.com/Org/Apps.git", "git@github.com:org/apps", true},
		{"https://GitHub.com/org/apps/", "ssh://git@github.com:22/org/apps.git", true},
		{"https://git.example.com/org/Config.git", "https://git.example.com/org/config.git", false},
		{"http://127.0.0.1:3000/org/apps.git", "http://127.0.0.1:4000/org/apps.git", false},
		{"http://127.0.0.1:3000/org/apps.git", "ssh://git@127.0.0.1:2222/org/apps.git", true},
		{"https://git.example.com:443/a/b", "https://git.example.com/a/b.git", true},
		{"https://git.example.com/a/b-c", "https://git.example.com/a/b_c", false},
		{"https://git.example.com/a/b", "https://other.example.com/a/b", false},
		{"file:///a/b", "file:///a/b", false},
	} {
		if got := Same(c.a, c.b); got != c.same {
			t.Errorf("Same(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestKeyIsCollisionFree(t *testing.T) {
	keys := map[string]string{}
	for _, raw := range []string{
		"https://git.example.com/org/Config.git", "https://git.example.com/org/config.git",
		"https://git.example.com/a/b-c", "https://git.example.com/a/b_c", "https://git.example.com/a/b.c",
		"http://127.0.0.1:3000/org/apps", "http://127.0.0.1:4000/org/apps",
	} {
		id, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		k := id.Key()
		if prev, dup := keys[k]; dup {
			t.Errorf("%q and %q share key %q", prev, raw, k)
		}
		keys[k] = raw
		if strings.ContainsAny(k, ". *>\t") || len(k) > 70 {
			t.Errorf("key %q of %q is not a short subject token", k, raw)
		}
	}
	a, _ := Parse("https://github.com/Org/Apps.git")
	b, _ := Parse("https://github.com/org/apps")
	if a.Key() != b.Key() {
		t.Errorf("one GitHub repository has two keys: %q %q", a.Key(), b.Key())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://github.com/org/apps.git", "git@h:o/r", "ssh://h:22/x", "file:///x", "http://[::1]:80/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		if id.Host == "" || id.Path == "" || strings.Contains(id.Path, "..") && containsDotDot(id.Path) {
			t.Fatalf("Parse(%q) = %+v", raw, id)
		}
		if !id.Same(id) {
			t.Fatalf("%+v is not the same as itself", id)
		}
		k := id.Key()
		if strings.ContainsAny(k, ". *>") || k == "" {
			t.Fatalf("key %q is not a subject token", k)
		}
	})
}

func containsDotDot(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == ".." {
			return true
		}
	}
	return false
}

func TestPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, url string
		match        bool
		fetch        string
	}{
		{"https://git.example.com/org/platform.git", "https://git.example.com/org/platform", true, "https://git.example.com/org/platform.git"},
		{"https://git.example.com/org/platform.git", "git@git.example.com:org/platform.git", true, "https://git.example.com/org/platform.git"},
		{"https://git.example.com/org/platform.git", "https://git.example.com/org/Platform", false, ""},
		{"https://git.example.com/org/platform-*", "https://git.example.com/org/platform-eu.git", true, "https://git.example.com/org/platform-eu"},
		{"https://git.example.com/org/platform-*", "https://git.example.com/org/team/platform-eu", false, ""},
		{"https://git.example.com/org/platform-*", "https://git.example.com/other/platform-eu", false, ""},
		{"http://127.0.0.1:3000/*", "http://127.0.0.1:3000/apps.git", true, "http://127.0.0.1:3000/apps"},
		{"http://127.0.0.1:3000/*", "http://127.0.0.1:4000/apps.git", false, ""},
		{"git@github.com:Org/Platform.git", "https://github.com/org/platform", true, "git@github.com:org/platform.git"},
	} {
		p, err := ParsePattern(c.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", c.pattern, err)
		}
		id, err := Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(id); got != c.match {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.url, got, c.match)
		}
		if c.match && p.URLFor(id) != c.fetch {
			t.Errorf("%q fetches %q from %q, want %q", c.pattern, c.url, p.URLFor(id), c.fetch)
		}
	}
	for _, bad := range []string{"https://git.example.com/*/platform", "file:///srv/*", "https://h/a/[", ""} {
		if _, err := ParsePattern(bad); !errors.Is(err, ErrUnsupported) {
			t.Errorf("ParsePattern(%q) = %v, want ErrUnsupported", bad, err)
		}
	}
}

func TestErrorsHidePasswords(t *testing.T) {
	for _, raw := range []string{"https://u:hunter2@h/%zz", "https://u:hunter2@h/org/apps", "ftp://u:hunter2@h/x", "https://u:hunter2@/x"} {
		_, err := Parse(raw)
		if err == nil {
			t.Fatalf("Parse(%q) accepted", raw)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error shows the password: %v", raw, err)
		}
	}
}
