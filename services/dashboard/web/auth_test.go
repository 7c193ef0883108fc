package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const testToken = "test-operator-token-0123456789"

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs c in as name and returns the CSRF token of the app page.
func (e *env) login(c *http.Client, name string) string {
	e.t.Helper()
	code, body, resp := e.post(c, "/login", url.Values{"name": {name}, "token": {testToken}, "next": {"/apps/web"}})
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/apps/web" {
		e.t.Fatalf("login = %d %q\n%s", code, resp.Header.Get("Location"), body)
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{sessionCookie + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			e.t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	_, page := e.get(c, "/apps/web")
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token on the app page after login:\n%s", page)
	}
	return m[1]
}

// TestReadOnlyRefusesActions: without a token there are no buttons and
// every POST is refused.
func TestReadOnlyRefusesActions(t *testing.T) {
	e := start(t, DefaultOptions())
	e.deploy("prod", "web", rev1, "Add web")
	c := e.client()
	_, body := e.get(c, "/apps/web")
	mustLack(t, "read-only page", body, "Roll back", "Sync now", "operator login")
	mustContain(t, "read-only page", body, "read-only")
	for _, path := range []string{"/apps/web/commands", "/login", "/logout"} {
		code, body, _ := e.post(c, path, url.Values{"cluster": {"prod"}, "verb": {"sync"}, "name": {"eve"}, "token": {testToken}})
		if code != http.StatusForbidden {
			t.Errorf("POST %s on a read-only dashboard = %d, want 403\n%s", path, code, body)
		}
	}
}

// TestLoginAndCSRF: a wrong token or name is refused; a session without
// the CSRF token, with a forged cookie or from another origin cannot act;
// a right one sends the command in the operator's name.
func TestLoginAndCSRF(t *testing.T) {
	opts := DefaultOptions()
	opts.OperatorToken = testToken
	opts.CommandTimeout = 500 * time.Millisecond
	e := start(t, opts)
	e.deploy("prod", "web", rev1, "Add web")
	e.deploy("prod", "web", rev2, "Scale web")
	e.heartbeat("prod", nil) // alive, but nobody answers commands
	c := e.client()

	_, body := e.get(c, "/apps/web")
	mustContain(t, "logged-out page", body, "operator login")
	mustLack(t, "logged-out page", body, "Roll back", "Sync now")

	code, body, _ := e.post(c, "/login", url.Values{"name": {"ada"}, "token": {testToken + "x"}})
	if code != http.StatusUnauthorized || !strings.Contains(body, "not the operator token") {
		t.Errorf("wrong token = %d\n%s", code, body)
	}
	code, _, _ = e.post(c, "/login", url.Values{"name": {"ada lovelace<script>"}, "token": {testToken}})
	if code != http.StatusBadRequest {
		t.Errorf("bad name = %d, want 400", code)
	}
	code, _, _ = e.post(c, "/login", url.Values{"name": {"ada"}, "token": {testToken}}, "Origin", "http://evil.example")
	if code != http.StatusForbidden {
		t.Errorf("cross-origin login = %d, want 403", code)
	}
	if code, _, _ := e.post(c, "/apps/web/commands", url.Values{"cluster": {"prod"}, "verb": {"sync"}}); code != http.StatusForbidden {
		t.Errorf("command before login = %d, want 403", code)
	}

	// A login never redirects off the site.
	code, _, resp := e.post(e.client(), "/login", url.Values{"name": {"ada"}, "token": {testToken}, "next": {"//evil.example/x"}})
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("login with an off-site next = %d to %q, want 303 to /", code, resp.Header.Get("Location"))
	}

	csrf := e.login(c, "ada")
	_, body = e.get(c, "/apps/web")
	mustContain(t, "operator page", body, "Sync now", "Suspend", "Roll back", `data-revision="`+rev1+`"`, "operator <b>ada</b>")

	form := url.Values{"cluster": {"prod"}, "verb": {"rollback"}, "revision": {rev1}}
	if code, _, _ := e.post(c, "/apps/web/commands", form); code != http.StatusForbidden {
		t.Errorf("command without CSRF = %d, want 403", code)
	}
	form.Set(csrfField, csrf+"x")
	if code, _, _ := e.post(c, "/apps/web/commands", form); code != http.StatusForbidden {
		t.Errorf("command with a wrong CSRF token = %d, want 403", code)
	}
	form.Set(csrfField, csrf)
	if code, _, _ := e.post(c, "/apps/web/commands", form, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site command = %d, want 403", code)
	}
	forged := e.client()
	forgedURL, _ := url.Parse(e.url)
	forged.Jar.SetCookies(forgedURL, []*http.Cookie{{Name: sessionCookie, Value: "YWRh.9999999999.bm90LWEtc2lnbmF0dXJl"}})
	if code, _, _ := e.post(forged, "/apps/web/commands", form); code != http.StatusForbidden {
		t.Errorf("command with a forged session = %d, want 403", code)
	}
	form.Set("verb", "explode")
	if code, _, _ := e.post(c, "/apps/web/commands", form); code != http.StatusBadRequest {
		t.Errorf("unknown verb = %d, want 400", code)
	}
	if code, _, _ := e.post(c, "/apps/web/commands", url.Values{csrfField: {strings.Repeat("x", maxFormBytes)}}); code != http.StatusBadRequest {
		t.Errorf("oversized form = %d, want 400", code)
	}

	// The real thing: recorded on FERRY_CMD with who asked; nobody
	// answers, and the page says so.
	form.Set("verb", "rollback")
	code, _, resp = e.post(c, "/apps/web/commands", form)
	loc := resp.Header.Get("Location")
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/apps/web?result=") {
		t.Fatalf("command = %d, Location %q", code, loc)
	}
	cmd := lastCommand(t, e.js, subject.Command("prod", "web", subject.VerbRollback))
	if cmd.GetRequestedBy() != "dashboard:ada@127.0.0.1" || cmd.GetRevision() != rev1 || cmd.GetVerb() != ferryv1.Verb_VERB_ROLLBACK {
		t.Errorf("stored command = %v", cmd)
	}
	_, body = e.get(c, loc)
	mustContain(t, "page after the command", body, `class="result bad"`, "did not answer", "dashboard:ada@127.0.0.1")

	// Logging out ends the session.
	if code, _, _ := e.post(c, "/logout", url.Values{csrfField: {csrf}}); code != http.StatusSeeOther {
		t.Errorf("logout = %d", code)
	}
	_, body = e.get(c, "/apps/web")
	mustLack(t, "page after logout", body, "Sync now")
}

// TestCommandWithoutWorker: a cluster no worker serves gets a clear
// error on the page and no stored command.
func TestCommandWithoutWorker(t *testing.T) {
	opts := DefaultOptions()
	opts.OperatorToken = testToken
	e := start(t, opts)
	e.deploy("prod", "web", rev1, "Add web")
	c := e.client()
	csrf := e.login(c, "ada")
	code, _, resp := e.post(c, "/apps/web/commands", url.Values{"cluster": {"prod"}, "verb": {"sync"}, csrfField: {csrf}})
	if code != http.StatusSeeOther {
		t.Fatalf("command = %d", code)
	}
	_, body := e.get(c, resp.Header.Get("Location"))
	mustContain(t, "page after the command", body, `class="result bad"`, "no worker for cluster")
	s, err := e.js.Stream(context.Background(), subject.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(context.Background()); err != nil || info.State.Msgs != 0 {
		t.Errorf("FERRY_CMD holds %v messages (err %v), want 0", info.State.Msgs, err)
	}
}

// lastCommand reads the newest command stored on subj.
func lastCommand(t *testing.T, js jetstream.JetStream, subj string) *ferryv1.Command {
	t.Helper()
	s, err := js.Stream(context.Background(), subject.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), subj)
	if err != nil {
		t.Fatalf("no command on %s: %v", subj, err)
	}
	var cmd ferryv1.Command
	if err := protoUnmarshal(msg.Data, &cmd); err != nil {
		t.Fatal(err)
	}
	return &cmd
}

// TestLoginThrottle: after a few wrong tokens from one address even the
// right token is refused with 429 and Retry-After until a try has
// accrued; other addresses are not affected.
func TestLoginThrottle(t *testing.T) {
	opts := DefaultOptions()
	opts.OperatorToken = testToken
	e := start(t, opts)
	var skew atomic.Int64
	e.srv.logins.mu.Lock()
	e.srv.logins.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e.srv.logins.mu.Unlock()
	c := e.client()

	for i := range loginBurst {
		if code, body, _ := e.post(c, "/login", url.Values{"name": {"eve"}, "token": {"guess"}}); code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d = %d, want 401\n%s", i+1, code, body)
		}
	}
	code, body, resp := e.post(c, "/login", url.Values{"name": {"eve"}, "token": {testToken}})
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong tokens") {
		t.Fatalf("login after %d wrong tokens = %d, want 429\n%s", loginBurst, code, body)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > int(loginRefill/time.Second)+1 {
		t.Errorf("Retry-After = %q, want 1-%d seconds", resp.Header.Get("Retry-After"), int(loginRefill/time.Second)+1)
	}
	// Another address may still log in.
	if w := e.srv.logins.wait("192.0.2.7"); w != 0 {
		t.Errorf("another address waits %s, want 0", w)
	}

	skew.Store(int64(loginRefill))
	if code, body, _ := e.post(c, "/login", url.Values{"name": {"eve"}, "token": {testToken}}); code != http.StatusSeeOther {
		t.Errorf("login after %s = %d, want 303\n%s", loginRefill, code, body)
	}
}
