package subject

import (
	"errors"
	"testing"
)

func TestRepoKey(t *testing.T) {
	cases := map[string]string{
		"https://github.com/Org/Apps.git":       "github-com-org-apps",
		"https://github.com/org/apps":           "github-com-org-apps",
		"git@github.com:org/apps.git":           "github-com-org-apps",
		"ssh://git@gitlab.example.com:22/a/b.c": "gitlab-example-com-a-b-c",
		"http://127.0.0.1:8080/repos/demo.git/": "127-0-0-1-repos-demo",
		"":                                      "unknown",
		"https://gitea.local/org/my_repo.git":   "gitea-local-org-my_repo",
		"https://bitbucket.org/team/x*y>z.git":  "bitbucket-org-team-x-y-z",
	}
	for in, want := range cases {
		if got := RepoKey(in); got != want {
			t.Errorf("RepoKey(%q) = %q, want %q", in, got, want)
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
