// Package pushhook builds and sends signed push webhooks shaped as GitHub,
// Gitea and GitLab send them. The quickstart's git hook, the end-to-end
// tests and the benchmarks use it to drive ingest exactly as a Git host would.
package pushhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"
)

// Providers this package can speak.
const (
	GitHub = "github"
	Gitea  = "gitea"
	GitLab = "gitlab"
)

// ZeroSHA is the commit id hosts send for a ref that did not exist.
const ZeroSHA = "0000000000000000000000000000000000000000"

// Push describes one push.
type Push struct {
	// CloneURL is the repository's HTTP clone URL.
	CloneURL string
	// FullName is owner/name; derived from CloneURL when empty.
	FullName string
	// Ref pushed, e.g. refs/heads/main.
	Ref string
	// Before and After are the old and new commit ids.
	Before, After string
	// Pusher is who pushed.
	Pusher string
	// Message of the head commit, optional.
	Message string
	// DeliveryID is the host's delivery id; random when empty.
	DeliveryID string
}

// NewRequest builds a signed webhook request for provider, posting to url.
// For GitLab, secret is the token sent in X-Gitlab-Token.
func NewRequest(ctx context.Context, provider, url, secret string, p Push) (*http.Request, error) {
	if p.DeliveryID == "" {
		p.DeliveryID = newID()
	}
	if p.FullName == "" {
		p.FullName = fullName(p.CloneURL)
	}
	var (
		body any
		hdr  = http.Header{}
	)
	switch provider {
	case GitHub:
		body = githubBody(p)
	case Gitea:
		body = giteaBody(p)
	case GitLab:
		body = gitlabBody(p)
	default:
		return nil, fmt.Errorf("unknown provider %q: use github, gitea or gitlab", provider)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", provider, err)
	}
	switch provider {
	case GitHub:
		hdr.Set("X-GitHub-Event", "push")
		hdr.Set("X-GitHub-Delivery", p.DeliveryID)
		hdr.Set("X-Hub-Signature-256", "sha256="+hmacHex(sha256.New, secret, data))
		hdr.Set("X-Hub-Signature", "sha1="+hmacHex(sha1.New, secret, data))
		hdr.Set("User-Agent", "GitHub-Hookshot/ferry")
	case Gitea:
		// Gitea also sends GitHub's and Gogs' headers.
		hdr.Set("X-Gitea-Event", "push")
		hdr.Set("X-Gitea-Event-Type", "push")
		hdr.Set("X-Gitea-Delivery", p.DeliveryID)
		hdr.Set("X-Gitea-Signature", hmacHex(sha256.New, secret, data))
		hdr.Set("X-Gogs-Event", "push")
		hdr.Set("X-Gogs-Delivery", p.DeliveryID)
		hdr.Set("X-Gogs-Signature", hmacHex(sha256.New, secret, data))
		hdr.Set("X-GitHub-Event", "push")
		hdr.Set("X-GitHub-Delivery", p.DeliveryID)
		hdr.Set("X-Hub-Signature-256", "sha256="+hmacHex(sha256.New, secret, data))
	case GitLab:
		hdr.Set("X-Gitlab-Event", "Push Hook")
		hdr.Set("X-Gitlab-Token", secret)
		hdr.Set("X-Gitlab-Event-UUID", p.DeliveryID)
		hdr.Set("X-Gitlab-Webhook-UUID", newID())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// Send builds the request, posts it with client and fails unless the
// answer is 2xx.
func Send(ctx context.Context, client *http.Client, provider, url, secret string, p Push) error {
	req, err := NewRequest(ctx, provider, url, secret, p)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s webhook: %w", provider, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post %s webhook: %s: %s", provider, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func hmacHex(newHash func() hash.Hash, secret string, data []byte) string {
	m := hmac.New(newHash, []byte(secret))
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func fullName(cloneURL string) string {
	s := strings.TrimSuffix(cloneURL, ".git")
	parts := strings.Split(s, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2] + "/" + parts[len(parts)-1]
	}
	return s
}

func now() time.Time { return time.Now().UTC() }
