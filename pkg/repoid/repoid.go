// Package repoid decides which repository a URL names. Render matches a
// push to the apps whose registered source is the same repository, and
// ingest keys subjects and message ids by it, so two spellings of one
// repository meet and two different repositories never do.
//
// A URL is read as Git does: https://host[:port]/path, http://…,
// ssh://[user@]host[:port]/path, git://host/path and the scp-like
// [user@]host:path. Anything else (file://, a local path, ext::, a URL with
// a password, control characters) is refused: Ferry only fetches over the
// network from a repository the platform registered.
package repoid

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// ErrUnsupported reports a URL that does not name a network repository
// Ferry may fetch.
var ErrUnsupported = errors.New("unsupported repository url")

// Transport families: the ports of one family are comparable, a port of
// one family says nothing about the other (a Gitea serves HTTPS on 3000
// and SSH on 2222).
const (
	familyWeb = "web" // http, https
	familySSH = "ssh" // ssh, scp-like, git://
)

// caseInsensitiveHosts are Git hosts that resolve owner and repository
// names without regard to case. On every other host (git http-backend,
// a plain SSH server, a self-hosted Gitea behind a file system path) the
// path is compared as spelled.
var caseInsensitiveHosts = map[string]bool{
	"github.com":    true,
	"gitlab.com":    true,
	"bitbucket.org": true,
}

// ID is the identity of one repository.
type ID struct {
	// Host is lowercase, without a trailing dot.
	Host string
	// Port is the explicit port when it is not the scheme's default.
	Port string
	// Path is the repository path without leading or trailing slash and
	// without ".git"; lowercased on case-insensitive hosts.
	Path string
	// family is the transport family of the URL it was read from.
	family string
}

// maxURL bounds what Parse reads; no Git host has longer clone URLs.
const maxURL = 2048

var scpLike = regexp.MustCompile(`^(?:([A-Za-z0-9._~%!$&'()*+,;=-]+)@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(.*)$`)

// Parse reads raw as a repository URL.
func Parse(raw string) (ID, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return ID{}, fmt.Errorf("%w: empty", ErrUnsupported)
	case len(s) > maxURL:
		return ID{}, fmt.Errorf("%w: longer than %d bytes", ErrUnsupported, maxURL)
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) >= 0:
		return ID{}, fmt.Errorf("%w: %q has control characters or spaces", ErrUnsupported, clip(s))
	}
	if strings.Contains(s, "://") {
		return parseURL(s)
	}
	m := scpLike.FindStringSubmatch(s)
	if m == nil || strings.Contains(m[2], "/") {
		return ID{}, fmt.Errorf("%w: %q is neither a URL nor user@host:path", ErrUnsupported, clip(s))
	}
	return finish(ID{Host: strings.Trim(m[2], "[]"), Path: m[3], family: familySSH}, s)
}

func parseURL(s string) (ID, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the URL, password and all; say only what is wrong.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return ID{}, fmt.Errorf("%w: %q: %w", ErrUnsupported, clip(s), err)
	}
	var family, defPort string
	switch strings.ToLower(u.Scheme) {
	case "https":
		family, defPort = familyWeb, "443"
	case "http":
		family, defPort = familyWeb, "80"
	case "ssh", "git+ssh", "ssh+git":
		family, defPort = familySSH, "22"
	case "git":
		family, defPort = familySSH, "9418"
	default:
		return ID{}, fmt.Errorf("%w: scheme %q (use https, http, ssh or git)", ErrUnsupported, clip(u.Scheme))
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return ID{}, fmt.Errorf("%w: the url carries a password; give credentials to render in a file", ErrUnsupported)
	}
	if u.Hostname() == "" {
		return ID{}, fmt.Errorf("%w: %q has no host", ErrUnsupported, clip(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return ID{}, fmt.Errorf("%w: %q has a query or fragment", ErrUnsupported, clip(s))
	}
	port := u.Port()
	if port == defPort {
		port = ""
	}
	return finish(ID{Host: u.Hostname(), Port: port, Path: u.Path, family: family}, s)
}

// finish normalises host and path and rejects paths that escape.
func finish(id ID, raw string) (ID, error) {
	id.Host = strings.TrimSuffix(strings.ToLower(id.Host), ".")
	if id.Host == "" || strings.HasPrefix(id.Host, "-") {
		return ID{}, fmt.Errorf("%w: %q has no usable host", ErrUnsupported, clip(raw))
	}
	p := strings.Trim(id.Path, "/")
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return ID{}, fmt.Errorf("%w: %q has a relative path segment", ErrUnsupported, clip(raw))
		}
	}
	p = strings.TrimSuffix(path.Clean("/"+p), "/")
	p = strings.TrimPrefix(strings.TrimSuffix(p, ".git"), "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return ID{}, fmt.Errorf("%w: %q names no repository path", ErrUnsupported, clip(raw))
	}
	if caseInsensitiveHosts[id.Host] {
		p = strings.ToLower(p)
	}
	id.Path = p
	return id, nil
}

// Same reports whether a and b are the same repository: same host and
// path, and the same port when both are of one transport family (an
// SSH URL and an HTTPS URL of one host name the same repository whatever
// their ports).
func (id ID) Same(other ID) bool {
	if id.Host != other.Host || id.Path != other.Path {
		return false
	}
	return id.family != other.family || id.Port == other.Port
}

// String is host[:port]/path, for logs.
func (id ID) String() string {
	h := id.Host
	if id.Port != "" {
		h += ":" + id.Port
	}
	return h + "/" + id.Path
}

// Key is a NATS subject token for the repository: a readable part (host
// and path folded to [a-z0-9-], at most 48 bytes) and a hash of the
// exact identity, so repositories that fold alike (Config and config on
// a case-sensitive host, a-b and a_b) never share a key.
func (id ID) Key() string {
	canon := id.family + "\x00" + id.String()
	if id.family == familySSH {
		canon = id.family + "\x00" + id.Host + "/" + id.Path // an SSH port is a transport detail
	}
	sum := sha256.Sum256([]byte(canon))
	readable := strings.Trim(nonToken.ReplaceAllString(strings.ToLower(id.Host+"/"+id.Path), "-"), "-")
	if len(readable) > 48 {
		readable = strings.TrimRight(readable[:48], "-")
	}
	return readable + "-" + hex.EncodeToString(sum[:8])
}

var nonToken = regexp.MustCompile(`[^a-z0-9]+`)

// Same parses a and b and reports whether they name the same repository;
// an unparsable URL is the same as nothing.
func Same(a, b string) bool {
	x, err := Parse(a)
	if err != nil {
		return false
	}
	y, err := Parse(b)
	if err != nil {
		return false
	}
	return x.Same(y)
}

// clip shortens s for an error message and masks the password of a
// URL's user information, so no error repeats a credential.
func clip(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		auth := s[i+3:]
		if end := strings.IndexAny(auth, "/?#"); end >= 0 {
			auth = auth[:end]
		}
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			if colon := strings.Index(auth[:at], ":"); colon >= 0 {
				s = s[:i+3] + auth[:colon] + ":xxxxx" + s[i+3+at:]
			}
		}
	}
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
