package repourl

import "testing"

func TestCommitURL(t *testing.T) {
	const sha = "0123456789abcdef"
	for _, c := range []struct {
		repo   string
		gitlab bool
		want   string
	}{
		{"https://github.com/org/apps.git", false, "https://github.com/org/apps/commit/" + sha},
		{"git@github.com:org/apps.git", false, "https://github.com/org/apps/commit/" + sha},
		{"ssh://git@gitea.example.com:2222/org/apps.git", false, "https://gitea.example.com/org/apps/commit/" + sha},
		{"https://gitlab.com/group/sub/apps.git", false, "https://gitlab.com/group/sub/apps/-/commit/" + sha},
		{"https://git.example.com/group/apps", true, "https://git.example.com/group/apps/-/commit/" + sha},
		{"http://127.0.0.1:3000/org/apps/", false, "http://127.0.0.1:3000/org/apps/commit/" + sha},
		{"not a url", false, ""},
	} {
		if got := CommitURL(c.repo, sha, c.gitlab); got != c.want {
			t.Errorf("CommitURL(%q) = %q, want %q", c.repo, got, c.want)
		}
	}
}

func TestOwnerName(t *testing.T) {
	r, _ := Parse("https://github.com/org/apps.git")
	if o, n, err := r.OwnerName(); err != nil || o != "org" || n != "apps" {
		t.Errorf("%q %q %v", o, n, err)
	}
	r, _ = Parse("https://gitlab.com/group/sub/apps.git")
	if _, _, err := r.OwnerName(); err == nil {
		t.Error("nested path accepted as owner/name")
	}
}
