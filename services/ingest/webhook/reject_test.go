package webhook

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRejections posts every kind of bad or uninteresting webhook and checks
// the status, that nothing was stored, and that exactly one log line gives
// the reason.
func TestRejections(t *testing.T) {
	_, _, js := startNATS(t)
	opts := testOptions()
	base, logs := serve(t, js, opts)
	noSecret := opts
	noSecret.GitHubSecret = ""
	baseNoSecret, logsNoSecret := serve(t, js, noSecret)
	client := &http.Client{Timeout: 10 * time.Second}

	push := fixture(t, "github-push.json")
	oversize := append(bytes.Repeat([]byte(" "), int(opts.MaxBodyBytes)), push...)
	malformed := []byte(`{"ref": "refs/heads/main", "after": `)
	noRepo := []byte(`{"ref":"refs/heads/main","before":"` + zeroSHA1 + `","after":"fd489864e7642b48eaad6e3f155c10e46810ec72"}`)
	badSHA := bytes.Replace(push, []byte(`"after": "fd489864e7642b48eaad6e3f155c10e46810ec72"`), []byte(`"after": "not-a-sha"`), 1)
	// Signed pushes whose repository or ref Ferry must not act on.
	withClone := func(url string) []byte {
		return bytes.Replace(push, []byte(`"clone_url": "https://github.com/binkkatal/sample_app.git"`), []byte(`"clone_url": "`+url+`"`), 1)
	}
	withRef := func(ref string) []byte {
		return bytes.Replace(push, []byte(`"ref": "refs/heads/master"`), []byte(`"ref": "`+ref+`"`), 1)
	}
	fileClone, localClone, passwordClone, extClone := withClone("file:///etc"), withClone("/srv/git/apps.git"),
		withClone("https://user:hunter2@github.com/org/apps.git"), withClone("ext::sh -c id")
	badPasswordClone := withClone("https://user:hunter2@github.com/org/%zz")
	dotRef, shortRef, lockRef := withRef(`refs/heads/../../x\nfoo`), withRef("master"), withRef("refs/heads/x.lock")
	giteaFile := bytes.Replace(fixture(t, "gitea-push.json"), []byte(`"clone_url": "http://localhost:3000/example/example.git"`), []byte(`"clone_url": "file:///etc"`), 1)
	gitlabBad := bytes.Replace(fixture(t, "gitlab-push.json"), []byte(`"ref": "refs/heads/master"`), []byte(`"ref": "refs/heads/a b"`), 1)
	bitbucketBad := bytes.Replace(fixture(t, "bitbucket-push.json"), []byte(`"name": "v2.0.0"`), []byte(`"name": "../v2"`), 1)

	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	cases := []struct {
		name    string
		base    string
		logs    *logBuffer
		path    string
		headers http.Header
		body    io.Reader
		status  int
		logMsg  string // "webhook rejected" or "webhook ignored"
		reason  string // substring of the logged reason
	}{
		{"github missing signature", base, logs, "/webhooks/github", with(githubHeaders("push", "r1", push), "X-Hub-Signature-256", ""), bytes.NewReader(push), 401, "webhook rejected", "missing signature"},
		{"github wrong signature", base, logs, "/webhooks/github", with(githubHeaders("push", "r2", push), "X-Hub-Signature-256", "sha256="+hmacHex("wrong", push)), bytes.NewReader(push), 401, "webhook rejected", "signature mismatch"},
		{"github signature not hex", base, logs, "/webhooks/github", with(githubHeaders("push", "r3", push), "X-Hub-Signature-256", "sha256=zz"), bytes.NewReader(push), 401, "webhook rejected", "not a hex"},
		{"github sha1 signature only", base, logs, "/webhooks/github", with(with(githubHeaders("push", "r4", push), "X-Hub-Signature-256", ""), "X-Hub-Signature", "sha1=abc"), bytes.NewReader(push), 401, "webhook rejected", "missing signature"},
		{"github provider without secret", baseNoSecret, logsNoSecret, "/webhooks/github", githubHeaders("push", "r5", push), bytes.NewReader(push), 401, "webhook rejected", "set --github-secret or FERRY_GITHUB_SECRET"},
		{"gitlab wrong token", base, logs, "/webhooks/gitlab", with(gitlabHeaders("Push Hook", "r6"), "X-Gitlab-Token", "nope"), bytes.NewReader(fixture(t, "gitlab-push.json")), 401, "webhook rejected", "signature mismatch"},
		{"gitlab missing token", base, logs, "/webhooks/gitlab", with(gitlabHeaders("Push Hook", "r7"), "X-Gitlab-Token", ""), bytes.NewReader(fixture(t, "gitlab-push.json")), 401, "webhook rejected", "missing signature"},
		{"gitea wrong signature", base, logs, "/webhooks", with(giteaHeaders("push", "r8", push), "X-Gitea-Signature", hmacHex("wrong", push)), bytes.NewReader(fixture(t, "gitea-push.json")), 401, "webhook rejected", "signature mismatch"},
		{"bitbucket wrong signature", base, logs, "/webhooks/bitbucket", with(bitbucketHeaders("repo:push", "r9", push), "X-Hub-Signature", "sha256="+hmacHex("wrong", push)), bytes.NewReader(fixture(t, "bitbucket-push.json")), 401, "webhook rejected", "signature mismatch"},
		{"bitbucket missing signature", base, logs, "/webhooks/bitbucket", with(bitbucketHeaders("repo:push", "r10", push), "X-Hub-Signature", ""), bytes.NewReader(push), 401, "webhook rejected", "missing signature"},
		{"github ping", base, logs, "/webhooks/github", githubHeaders("ping", "r11", fixture(t, "github-ping.json")), bytes.NewReader(fixture(t, "github-ping.json")), 202, "webhook ignored", `event "ping"`},
		{"github issues event", base, logs, "/webhooks/github", githubHeaders("issues", "r12", fixture(t, "github-issues.json")), bytes.NewReader(fixture(t, "github-issues.json")), 202, "webhook ignored", `event "issues"`},
		{"gitlab system hook that is not a push", base, logs, "/webhooks/gitlab", gitlabHeaders("System Hook", "r13"), strings.NewReader(`{"object_kind":"project_create"}`), 202, "webhook ignored", "project_create"},
		{"bitbucket pull request event", base, logs, "/webhooks", bitbucketHeaders("pullrequest:created", "r14", []byte(`{}`)), strings.NewReader(`{}`), 202, "webhook ignored", "pullrequest:created"},
		{"oversize body with content length", base, logs, "/webhooks/github", githubHeaders("push", "r15", oversize), bytes.NewReader(oversize), 413, "webhook rejected", "body too large"},
		{"oversize body chunked", base, logs, "/webhooks/github", githubHeaders("push", "r16", oversize), io.MultiReader(bytes.NewReader(oversize)), 413, "webhook rejected", "body too large"},
		{"malformed json", base, logs, "/webhooks/github", githubHeaders("push", "r17", malformed), bytes.NewReader(malformed), 400, "webhook rejected", "malformed payload"},
		{"json without a repository", base, logs, "/webhooks/github", githubHeaders("push", "r18", noRepo), bytes.NewReader(noRepo), 400, "webhook rejected", "no repository clone url"},
		{"after is not a commit id", base, logs, "/webhooks/github", githubHeaders("push", "r19", badSHA), bytes.NewReader(badSHA), 400, "webhook rejected", "not a commit id"},
		{"clone url file:///etc", base, logs, "/webhooks/github", githubHeaders("push", "v1", fileClone), bytes.NewReader(fileClone), 400, "webhook rejected", `clone url: unsupported repository url: scheme "file"`},
		{"clone url a local path", base, logs, "/webhooks/github", githubHeaders("push", "v2", localClone), bytes.NewReader(localClone), 400, "webhook rejected", "clone url: unsupported repository url"},
		{"clone url with a password", base, logs, "/webhooks/github", githubHeaders("push", "v3", passwordClone), bytes.NewReader(passwordClone), 400, "webhook rejected", "carries a password"},
		{"unparsable clone url with a password", base, logs, "/webhooks/github", githubHeaders("push", "v11", badPasswordClone), bytes.NewReader(badPasswordClone), 400, "webhook rejected", "user:xxxxx@github.com"},
		{"clone url ext::", base, logs, "/webhooks/github", githubHeaders("push", "v4", extClone), bytes.NewReader(extClone), 400, "webhook rejected", "clone url: unsupported repository url"},
		{"gitea clone url file:///etc", base, logs, "/webhooks/gitea", giteaHeaders("push", "v5", giteaFile), bytes.NewReader(giteaFile), 400, "webhook rejected", `scheme "file"`},
		{"ref with .. and a newline", base, logs, "/webhooks/github", githubHeaders("push", "v6", dotRef), bytes.NewReader(dotRef), 400, "webhook rejected", `ref "refs/heads/../../x\nfoo" is not a valid git ref: contains ".."`},
		{"ref without refs/", base, logs, "/webhooks/github", githubHeaders("push", "v7", shortRef), bytes.NewReader(shortRef), 400, "webhook rejected", `does not start with "refs/"`},
		{"ref component ending .lock", base, logs, "/webhooks/github", githubHeaders("push", "v8", lockRef), bytes.NewReader(lockRef), 400, "webhook rejected", `ending with ".lock"`},
		{"gitlab ref with a space", base, logs, "/webhooks/gitlab", gitlabHeaders("Push Hook", "v9"), bytes.NewReader(gitlabBad), 400, "webhook rejected", "contains a space"},
		{"bitbucket tag named ../v2, nothing of the webhook published", base, logs, "/webhooks/bitbucket", bitbucketHeaders("repo:push", "v10", bitbucketBad), bytes.NewReader(bitbucketBad), 400, "webhook rejected", `"refs/tags/../v2"`},
		{"missing event header", base, logs, "/webhooks/github", with(githubHeaders("push", "r20", push), "X-GitHub-Event", ""), bytes.NewReader(push), 400, "webhook rejected", "without an event header"},
		{"unknown provider", base, logs, "/webhooks", http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(push), 400, "webhook rejected", "unknown webhook provider"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.logs.take()
			seq := lastSeq(t, js)
			status, resp := post(t, client, tc.base+tc.path, tc.headers, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, resp, tc.status)
			}
			if evs, _ := storedAfter(t, js, seq); len(evs) != 0 {
				t.Fatalf("stored %d events, want none", len(evs))
			}
			var lines []map[string]any
			for _, rec := range tc.logs.take() {
				if rec["msg"] == "webhook rejected" || rec["msg"] == "webhook ignored" || rec["msg"] == "webhook accepted" {
					lines = append(lines, rec)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d outcome log lines, want exactly 1: %v", len(lines), lines)
			}
			reason, _ := lines[0]["reason"].(string)
			if lines[0]["msg"] != tc.logMsg || !strings.Contains(reason, tc.reason) {
				t.Fatalf("logged %q reason %q, want %q containing %q", lines[0]["msg"], reason, tc.logMsg, tc.reason)
			}
			if tc.status == http.StatusBadRequest {
				if e, _ := resp["error"].(string); !strings.Contains(e, tc.reason) || strings.Contains(e, "hunter2") {
					t.Fatalf("answer %v does not give the reason %q, or leaks a password", resp, tc.reason)
				}
			}
			for _, secret := range []string{ghSecret, glToken, gtSecret, bbSecret, "hunter2"} {
				if strings.Contains(reason, secret) {
					t.Fatalf("log line leaks a secret: %v", lines[0])
				}
			}
		})
	}
}

// TestMethodAndRoutes checks the mux around the webhook routes.
func TestMethodAndRoutes(t *testing.T) {
	_, nc, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/webhooks/github", http.StatusMethodNotAllowed},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/readyz", http.StatusOK},
		{http.MethodPost, "/webhooks/unknown-host", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
	nc.Close()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed NATS connection = %d, want 503", resp.StatusCode)
	}
	if resp, err = http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with NATS down = %v %v, want 200", resp, err)
	}
	resp.Body.Close()
}
