// Package repourl reads repository URLs as Git hosts spell them (https,
// ssh, scp-like) and builds web links and API paths from them.
package repourl

import (
	"fmt"
	"net/url"
	"strings"
)

// Repo is a repository on a Git host.
type Repo struct {
	// Scheme of the web URL, https unless the repository URL said http.
	Scheme string
	// Host, with port when not the default.
	Host string
	// Path is the repository path without leading slash and ".git",
	// e.g. org/apps or group/sub/apps.
	Path string
}

// Parse reads https://host/org/apps.git, ssh://git@host/org/apps.git or
// git@host:org/apps.git.
func Parse(raw string) (Repo, error) {
	s := strings.TrimSpace(raw)
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		scheme := "https"
		if u.Scheme == "http" {
			scheme = "http"
		}
		host := u.Host
		if u.Scheme == "ssh" || u.Scheme == "git" {
			host = u.Hostname() // an ssh port says nothing about the web port
		}
		return clean(Repo{Scheme: scheme, Host: host, Path: u.Path}, raw)
	}
	if at := strings.Index(s, "@"); at >= 0 {
		if colon := strings.Index(s[at:], ":"); colon > 0 {
			return clean(Repo{Scheme: "https", Host: s[at+1 : at+colon], Path: s[at+colon+1:]}, raw)
		}
	}
	return Repo{}, fmt.Errorf("repository url %q: not https, ssh or scp-like", raw)
}

func clean(r Repo, raw string) (Repo, error) {
	r.Path = strings.TrimSuffix(strings.Trim(r.Path, "/"), ".git")
	if r.Host == "" || r.Path == "" {
		return Repo{}, fmt.Errorf("repository url %q: no host or path", raw)
	}
	return r, nil
}

// WebURL is the repository's page, e.g. https://github.com/org/apps.
func (r Repo) WebURL() string { return r.Scheme + "://" + r.Host + "/" + r.Path }

// OwnerName splits Path into owner and name for GitHub and Gitea, whose
// repositories are always owner/name.
func (r Repo) OwnerName() (owner, name string, err error) {
	owner, name, ok := strings.Cut(r.Path, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository path %q is not owner/name", r.Path)
	}
	return owner, name, nil
}

// IsGitLab guesses GitLab from the host name when nothing is configured.
func (r Repo) IsGitLab() bool { return strings.Contains(strings.ToLower(r.Host), "gitlab") }

// CommitURL links to sha on the host's web UI: /-/commit/<sha> on GitLab,
// /commit/<sha> on GitHub, Gitea and most others. It returns "" when
// repoURL cannot be read or sha is empty.
func CommitURL(repoURL, sha string, gitlab bool) string {
	r, err := Parse(repoURL)
	if err != nil || sha == "" {
		return ""
	}
	if gitlab || r.IsGitLab() {
		return r.WebURL() + "/-/commit/" + url.PathEscape(sha)
	}
	return r.WebURL() + "/commit/" + url.PathEscape(sha)
}

// Short returns the first 7 characters of a commit sha.
func Short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
