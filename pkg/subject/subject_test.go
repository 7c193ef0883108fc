package subject

import (
	"errors"
	"regexp"
	"testing"
)

func TestRepoKey(t *testing.T) {
	same := [][2]string{
		{"https://github.com/Org/Apps.git", "https://github.com/org/apps"},
		{"http://127.0.0.1:8080/repos/demo.git/", "http://127.0.0.1:8080/repos/demo"},
	}
	for _, c := range same {
		if RepoKey(c[0]) != RepoKey(c[1]) {
			t.Errorf("RepoKey(%q) = %q, RepoKey(%q) = %q: want one key", c[0], RepoKey(c[0]), c[1], RepoKey(c[1]))
		}
	}
	differ := [][2]string{
		{"https://git.example.com/org/Config.git", "https://git.example.com/org/config.git"},
		{"https://git.example.com/a/b-c", "https://git.example.com/a/b_c"},
		{"file:///etc", "file:///etc/passwd"},
	}
	for _, c := range differ {
		if RepoKey(c[0]) == RepoKey(c[1]) {
			t.Errorf("RepoKey(%q) = RepoKey(%q) = %q: want distinct keys", c[0], c[1], RepoKey(c[0]))
		}
	}
	for _, in := range []string{"https://github.com/org/apps.git", "file:///etc", "", "https://bitbucket.org/team/x*y>z.git"} {
		if k := RepoKey(in); !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(k) {
			t.Errorf("RepoKey(%q) = %q is not a subject token", in, k)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "prod", "guest-book", "a1"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Prod", "a.b", "-a", "a-", "a_b", "a>b", "a b"} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestClusterApp(t *testing.T) {
	c, a, err := ClusterApp(Desired("prod", "guestbook"))
	if err != nil || c != "prod" || a != "guestbook" {
		t.Fatalf("ClusterApp = %q %q %v", c, a, err)
	}
	if _, _, err := ClusterApp("other.x"); err == nil {
		t.Fatal("want error for a foreign subject")
	}
}
