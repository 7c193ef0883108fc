package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Operators log in with the operator token and a name. The browser then
// holds an HttpOnly, SameSite=Strict session cookie signed with a key
// derived from the token (so changing the token ends every session), and
// every form that acts carries a CSRF token bound to that session.

const (
	sessionCookie = "ferry_session"
	csrfField     = "csrf"
)

var (
	errBadSession = errors.New("session invalid or expired")
	errBadToken   = errors.New("wrong operator token")
	errBadName    = errors.New("name must be 1-40 letters, digits, '.', '_' or '-'")
)

// operatorName is what a login may call itself; it ends up in
// Command.requested_by, so it stays a short plain word.
var operatorName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)

// auth checks operator tokens, issues sessions and CSRF tokens. A nil
// *auth is a read-only dashboard: nobody can log in.
type auth struct {
	tokenHash [sha256.Size]byte
	key       []byte
	ttl       time.Duration
	now       func() time.Time
}

// newAuth returns nil when token is empty.
func newAuth(token string, ttl time.Duration) *auth {
	if token == "" {
		return nil
	}
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("ferry-dashboard-session-v1"))
	return &auth{tokenHash: sha256.Sum256([]byte(token)), key: m.Sum(nil), ttl: ttl, now: time.Now}
}

// checkToken compares given with the operator token in constant time
// (over fixed-length hashes, so the length does not leak either).
func (a *auth) checkToken(given string) error {
	h := sha256.Sum256([]byte(given))
	if subtle.ConstantTimeCompare(h[:], a.tokenHash[:]) != 1 {
		return errBadToken
	}
	return nil
}

// session is a logged-in operator.
type session struct {
	Name string
	// CSRF goes into every form that acts.
	CSRF string
	raw  string
}

// issue returns the cookie value of a new session for name.
func (a *auth) issue(name string) (string, error) {
	if !operatorName.MatchString(name) {
		return "", errBadName
	}
	exp := strconv.FormatInt(a.now().Add(a.ttl).Unix(), 10)
	payload := base64.RawURLEncoding.EncodeToString([]byte(name)) + "." + exp
	return payload + "." + a.sign("session", payload), nil
}

// sign is the base64 HMAC of value under a purpose.
func (a *auth) sign(purpose, value string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(purpose + "\n" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parse verifies a session cookie value.
func (a *auth) parse(raw string) (*session, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errBadSession
	}
	payload := parts[0] + "." + parts[1]
	if !hmac.Equal([]byte(parts[2]), []byte(a.sign("session", payload))) {
		return nil, errBadSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || a.now().Unix() > exp {
		return nil, errBadSession
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || !operatorName.Match(name) {
		return nil, errBadSession
	}
	return &session{Name: string(name), CSRF: a.sign("csrf", raw), raw: raw}, nil
}

// sessionOf returns the request's session, or nil when there is none, it
// is invalid, or the dashboard is read-only.
func (a *auth) sessionOf(r *http.Request) *session {
	if a == nil {
		return nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, err := a.parse(c.Value)
	if err != nil {
		return nil
	}
	return s
}

// checkCSRF verifies a POST's CSRF field against the session, and that
// the browser says the request came from this site.
func (a *auth) checkCSRF(r *http.Request, s *session) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	if !hmac.Equal([]byte(r.PostFormValue(csrfField)), []byte(s.CSRF)) {
		return errors.New("missing or wrong CSRF token: reload the page and try again")
	}
	return nil
}

// sameOrigin refuses a request whose browser marks it cross-site.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errors.New("cross-site request refused")
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errors.New("cross-origin request refused")
		}
	}
	return nil
}

// cookie returns the session cookie carrying value; an empty value with
// MaxAge -1 deletes it.
func (a *auth) cookie(r *http.Request, value string) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(a.ttl / time.Second)
	}
	return c
}

// requester names who asked for a command: the login name and the
// address the request came from (see Server.clientAddr).
func requester(s *session, addr string) string {
	return "dashboard:" + s.Name + "@" + addr
}
