package natsconn

import (
	"net/url"
	"strings"
)

// redacted replaces a password or token in a printed URL.
const redacted = "xxxxx"

// RedactURL returns the NATS server list s (comma separated URLs) with
// every password replaced by xxxxx, and a lone user (a token) as well, so
// it can be printed and logged. A part that does not parse as a URL is
// printed up to its last "@" no more.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Host == "" {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			return redacted + p[at:]
		}
		return p
	}
	if u.User == nil {
		return p
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		u.User = url.UserPassword(u.User.Username(), redacted)
	} else {
		u.User = url.User(redacted) // a token
	}
	return u.Redacted()
}

// HasUserInfo reports whether any URL in the server list s carries a
// user, password or token.
func HasUserInfo(s string) bool {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.Host != "" {
			if u.User != nil {
				return true
			}
			continue
		}
		if strings.Contains(p, "@") {
			return true
		}
	}
	return false
}
