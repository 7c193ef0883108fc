package webhook

import (
	"bytes"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

func TestBindFlagsFromEnvWithoutLeakingSecrets(t *testing.T) {
	t.Setenv("FERRY_GITHUB_SECRET", "env-github-secret")
	t.Setenv("FERRY_INGEST_ADDR", "127.0.0.1:9999")
	t.Setenv("FERRY_INGEST_PUBLISH_TIMEOUT", "7s")
	t.Setenv("FERRY_INGEST_INFLIGHT_WAIT", "3s")
	o := DefaultOptions()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	o.BindFlags(fs)
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "env-github-secret") {
		t.Fatal("-help prints the secret")
	}
	if err := fs.Parse([]string{"--gitlab-token", "flag-token", "--ingest-max-body-bytes", "1024", "--ingest-max-inflight-bytes", "4096"}); err != nil {
		t.Fatal(err)
	}
	if o.GitHubSecret != "env-github-secret" || o.GitLabToken != "flag-token" || o.Addr != "127.0.0.1:9999" ||
		o.PublishTimeout != 7*time.Second || o.MaxBodyBytes != 1024 || o.GiteaSecret != "" ||
		o.MaxInflightBytes != 4096 || o.InflightWait != 3*time.Second {
		t.Fatalf("options %+v", o)
	}
}

func TestDefaults(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil || o.Addr != "127.0.0.1:8080" || o.MaxBodyBytes != 25<<20 || o.PublishTimeout != 5*time.Second {
		t.Fatalf("withDefaults = %+v, %v", o, err)
	}
	if o.MaxInflightBytes != 64<<20 || o.InflightWait != 2*time.Second {
		t.Fatalf("in-flight defaults %d %s", o.MaxInflightBytes, o.InflightWait)
	}
	if _, err := (Options{MaxBodyBytes: -1}).withDefaults(); err == nil {
		t.Fatal("negative max body accepted")
	}
	if _, err := (Options{MaxInflightBytes: 1 << 20}).withDefaults(); err == nil {
		t.Fatal("an in-flight budget smaller than the largest body accepted")
	}
	if _, err := NewHandler(nil, DefaultOptions()); err == nil {
		t.Fatal("NewHandler(nil) accepted")
	}
}

func TestDetectGiteaBeforeGitHub(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{"X-Github-Event": {"push"}, "X-Gitea-Event": {"push"}}, Gitea},
		{http.Header{"X-Github-Event": {"push"}, "X-Gogs-Event": {"push"}}, Gitea},
		{http.Header{"X-Github-Event": {"push"}}, GitHub},
		{http.Header{"X-Gitlab-Event": {"Push Hook"}}, GitLab},
		{http.Header{"X-Event-Key": {"repo:push"}}, Bitbucket},
		{http.Header{}, ""},
	} {
		if got := detect(tc.h); got != tc.want {
			t.Errorf("detect(%v) = %q, want %q", tc.h, got, tc.want)
		}
	}
}

// check authenticates body as handle does: the headers first, then the
// body through the verifier's writer. headerOnly reports whether auth
// refused the request before any body was needed.
func check(auth func([]byte, string) (verifier, error), secret []byte, sig string, body []byte) (headerOnly bool, err error) {
	v, err := auth(secret, sig)
	if err != nil {
		return true, err
	}
	if w := v.writer(); w != nil {
		_, _ = w.Write(body)
	}
	return false, v.verify()
}

func TestVerify(t *testing.T) {
	body := []byte(`{"x":1}`)
	secret := []byte("s")
	good := hmacHexBytes(secret, body)
	for _, tc := range []struct {
		name       string
		auth       func([]byte, string) (verifier, error)
		secret     []byte
		sig        string
		body       []byte
		want       error
		headerOnly bool // refused before the body is read
	}{
		{"github ok", authGitHub, secret, "sha256=" + good, body, nil, false},
		{"github no prefix", authGitHub, secret, good, body, ErrBadSignature, true},
		{"github other body", authGitHub, secret, "sha256=" + good, []byte(`{"x":2}`), ErrBadSignature, false},
		{"github truncated", authGitHub, secret, "sha256=" + good[:10], body, ErrBadSignature, true},
		{"github not hex", authGitHub, secret, "sha256=" + strings.Repeat("z", 64), body, ErrBadSignature, true},
		{"gitea ok", authGitea, secret, good, body, nil, false},
		{"gitea upper-case hex", authGitea, secret, strings.ToUpper(good), body, nil, false},
		{"gitea wrong", authGitea, []byte("t"), good, body, ErrBadSignature, false},
		{"bitbucket ok", authBitbucket, secret, "sha256=" + good, body, nil, false},
		{"bitbucket sha1 form", authBitbucket, secret, "sha1=" + good, body, ErrBadSignature, true},
		{"gitlab ok", authGitLab, secret, "s", nil, nil, false},
		{"gitlab prefix of token", authGitLab, []byte("secret"), "sec", nil, ErrBadSignature, true},
	} {
		headerOnly, err := check(tc.auth, tc.secret, tc.sig, tc.body)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && headerOnly != tc.headerOnly {
			t.Errorf("%s: refused from the headers alone = %v, want %v", tc.name, headerOnly, tc.headerOnly)
		}
	}
}

func hmacHexBytes(secret, body []byte) string { return hmacHex(string(secret), body) }

func TestFitTrimsHugeEvents(t *testing.T) {
	ev := &ferryv1.PushEvent{CloneUrl: "https://x/y.git", After: zeroSHA1}
	for i := 0; i < 100; i++ {
		ev.Commits = append(ev.Commits, &ferryv1.Commit{Id: strings.Repeat("a", 40), Message: strings.Repeat("m", 50_000)})
	}
	last := ev.Commits[99]
	fit(ev, 64<<10)
	if n := len(ev.Commits); n == 0 || n == 100 || ev.Commits[n-1] != last {
		t.Fatalf("kept %d commits (last kept: %v)", n, ev.Commits[n-1] == last)
	}
	small := &ferryv1.PushEvent{Commits: []*ferryv1.Commit{{Message: "keep me"}}}
	fit(small, 64<<10)
	if small.Commits[0].Message != "keep me" {
		t.Fatal("fit changed an event that fits")
	}
}

func TestRecovererAnswers500(t *testing.T) {
	h := recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/github", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
}

func TestStatusOf(t *testing.T) {
	for err, want := range map[error]int{
		nil: 202, ErrNotPush: 202, ErrNoSecret: 401, ErrMissingSignature: 401, ErrBadSignature: 401,
		ErrTooLarge: 413, ErrMalformed: 400, ErrUnknownProvider: 400, ErrUnavailable: 503, ErrBusy: 503, errors.New("x"): 500,
	} {
		if got := statusOf(err); got != want {
			t.Errorf("statusOf(%v) = %d, want %d", err, got, want)
		}
	}
}
