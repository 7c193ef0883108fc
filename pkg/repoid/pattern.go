package repoid

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Pattern is a set of repositories an operator trusts, written as a clone
// URL whose last path segment may be a glob (path.Match syntax):
// https://git.example.com/org/platform or https://git.example.com/org/platform-*.
type Pattern struct {
	raw    string
	prefix ID     // host, port, family and the path before the last segment
	last   string // the last path segment, possibly a glob
	suffix string // ".git" when the pattern spelled it, for URLFor
	scheme string // the scheme to fetch with, "" for scp-like
	user   string // the user of an ssh URL
}

// ParsePattern reads a platform repository URL or glob.
func ParsePattern(raw string) (Pattern, error) {
	s := strings.TrimSpace(raw)
	id, err := Parse(strings.NewReplacer("*", "x", "?", "x", "[", "x", "]", "x").Replace(s))
	if err != nil {
		return Pattern{}, err
	}
	// Parse the real path again without the glob stand-ins.
	p := Pattern{raw: s}
	rawPath := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return Pattern{}, fmt.Errorf("%w: %q is not a URL", ErrUnsupported, clip(s))
		}
		rawPath, p.scheme = u.Path, strings.ToLower(u.Scheme)
		if u.User != nil {
			p.user = u.User.Username()
		}
	} else if i := strings.Index(s, ":"); i >= 0 {
		rawPath = s[i+1:]
		if at := strings.Index(s[:i], "@"); at >= 0 {
			p.user = s[:at]
		}
	}
	rawPath = strings.Trim(rawPath, "/")
	if strings.HasSuffix(rawPath, ".git") {
		p.suffix = ".git"
		rawPath = strings.TrimSuffix(rawPath, ".git")
	}
	dir, last := path.Split(rawPath)
	if strings.ContainsAny(dir, "*?[]") {
		return Pattern{}, fmt.Errorf("%w: %q: only the last path segment may be a glob", ErrUnsupported, clip(s))
	}
	if _, err := path.Match(last, ""); err != nil {
		return Pattern{}, fmt.Errorf("%w: %q: %w", ErrUnsupported, clip(s), err)
	}
	if caseInsensitiveHosts[id.Host] {
		dir, last = strings.ToLower(dir), strings.ToLower(last)
	}
	p.prefix = ID{Host: id.Host, Port: id.Port, Path: strings.TrimSuffix(dir, "/"), family: id.family}
	p.last = last
	return p, nil
}

// String is the pattern as configured.
func (p Pattern) String() string { return p.raw }

// Match reports whether id is one of the pattern's repositories.
func (p Pattern) Match(id ID) bool {
	if id.Host != p.prefix.Host || (id.family == p.prefix.family && id.Port != p.prefix.Port) {
		return false
	}
	dir, last := path.Split(id.Path)
	if strings.TrimSuffix(dir, "/") != p.prefix.Path {
		return false
	}
	ok, _ := path.Match(p.last, last)
	return ok
}

// URLFor is the clone URL render fetches the matched repository id from:
// the pattern's scheme, user, host and port with id's last path segment,
// so the URL is the operator's, never one a webhook spelled.
func (p Pattern) URLFor(id ID) string {
	host := p.prefix.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p.prefix.Port != "" {
		host += ":" + p.prefix.Port
	}
	_, last := path.Split(id.Path)
	rel := last + p.suffix
	if p.prefix.Path != "" {
		rel = p.prefix.Path + "/" + rel
	}
	user := ""
	if p.user != "" {
		user = p.user + "@"
	}
	if p.scheme == "" {
		return user + host + ":" + rel
	}
	return p.scheme + "://" + user + host + "/" + rel
}
