package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/go-playground/webhooks/v6/bitbucket"
	"github.com/go-playground/webhooks/v6/gitea"
	"github.com/go-playground/webhooks/v6/github"
	"github.com/go-playground/webhooks/v6/gitlab"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Provider names, as published in PushEvent.provider.
const (
	GitHub    = "github"
	GitLab    = "gitlab"
	Gitea     = "gitea"
	Bitbucket = "bitbucket"
)

// provider describes how one Git host signs, names and shapes its webhooks.
type provider struct {
	name string
	// flag and env name where the secret is configured, for the log line.
	flag, env string
	secret    []byte
	// event returns the event name from the headers.
	event func(http.Header) string
	// isPush reports whether event carries a push payload.
	isPush func(event string) bool
	// signature returns the signature or token header; auth checks it
	// before the body is read and returns what verifies the body.
	signature func(http.Header) string
	auth      func(secret []byte, sig string) (verifier, error)
	// delivery returns the host's delivery id, "" when absent.
	delivery func(http.Header) string
	// parse turns a push body into events without id, provider, repo key or time.
	parse func(body []byte) ([]*ferryv1.PushEvent, error)
}

// providers builds the four providers with the secrets of o.
func providers(o Options) map[string]*provider {
	return map[string]*provider{
		GitHub: {
			name: GitHub, flag: "--github-secret", env: "FERRY_GITHUB_SECRET", secret: []byte(o.GitHubSecret),
			event:     header("X-GitHub-Event"),
			isPush:    func(e string) bool { return e == string(github.PushEvent) },
			signature: githubSignature, auth: authGitHub,
			delivery: header("X-GitHub-Delivery"),
			parse:    parseGitHub,
		},
		GitLab: {
			name: GitLab, flag: "--gitlab-token", env: "FERRY_GITLAB_TOKEN", secret: []byte(o.GitLabToken),
			event: header("X-Gitlab-Event"),
			isPush: func(e string) bool {
				// System hooks carry pushes too; parseGitLab ignores their other kinds.
				return e == string(gitlab.PushEvents) || e == string(gitlab.TagEvents) || e == string(gitlab.SystemHookEvents)
			},
			signature: gitlabSignature, auth: authGitLab,
			delivery: header("X-Gitlab-Event-UUID", "Idempotency-Key"),
			parse:    parseGitLab,
		},
		Gitea: {
			name: Gitea, flag: "--gitea-secret", env: "FERRY_GITEA_SECRET", secret: []byte(o.GiteaSecret),
			event:     header("X-Gitea-Event", "X-Gogs-Event"),
			isPush:    func(e string) bool { return e == string(gitea.PushEvent) },
			signature: giteaSignature, auth: authGitea,
			delivery: header("X-Gitea-Delivery", "X-Gogs-Delivery"),
			parse:    parseGitea,
		},
		Bitbucket: {
			name: Bitbucket, flag: "--bitbucket-secret", env: "FERRY_BITBUCKET_SECRET", secret: []byte(o.BitbucketSecret),
			event:     header("X-Event-Key"),
			isPush:    func(e string) bool { return e == string(bitbucket.RepoPushEvent) },
			signature: bitbucketSignature, auth: authBitbucket,
			delivery: header("X-Request-UUID"),
			parse:    parseBitbucket,
		},
	}
}

// detect names the provider of a request to POST /webhooks. Gitea and Gogs
// come first: Gitea also sends X-GitHub-Event.
func detect(h http.Header) string {
	switch {
	case h.Get("X-Gitea-Event") != "" || h.Get("X-Gogs-Event") != "":
		return Gitea
	case h.Get("X-GitHub-Event") != "":
		return GitHub
	case h.Get("X-Gitlab-Event") != "":
		return GitLab
	case h.Get("X-Event-Key") != "":
		return Bitbucket
	}
	return ""
}

// header returns the first non-empty value of keys.
func header(keys ...string) func(http.Header) string {
	return func(h http.Header) string {
		for _, k := range keys {
			if v := h.Get(k); v != "" {
				return v
			}
		}
		return ""
	}
}

// deliveryID returns the host's delivery id, cleaned for logs and
// PushEvent.id, or a hash of the body when the host sent none. It is not
// the message id: the delivery id header is not covered by the signature,
// so dedupe keys on the push itself (transitionID in publish.go).
func deliveryID(p *provider, h http.Header, body []byte) string {
	id := strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f {
			return -1
		}
		return r
	}, p.delivery(h))
	if len(id) > maxDeliveryID {
		id = id[:maxDeliveryID]
	}
	if id == "" {
		sum := sha256.Sum256(body)
		id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return id
}
