// Package webhook is Ferry's ingest service: it receives push webhooks from
// GitHub, GitLab, Gitea (and Gogs) and Bitbucket Cloud, verifies their
// signatures, and publishes one ferryv1.PushEvent per pushed ref on
// ferry.git.push.<repo-key>. A webhook is answered 2xx only after JetStream
// has acknowledged the event, so an acknowledged push is never lost.
//
// Trust boundary: everything about a request is checked before it costs
// more than its headers, as far as the host's scheme allows. A missing or
// malformed signature, a wrong GitLab token and a stated length over
// MaxBodyBytes are refused before any of the body is read into memory
// (the rest of a refused body is discarded, so the host sees the status).
// An HMAC can only be checked once the body is read; it is computed while
// reading, into reused blocks of at most MaxInflightBytes for all requests
// together, so unsigned junk cannot grow the process: a body that finds no
// room is answered 503 with Retry-After. A verified push must name its
// repository with a URL Ferry may fetch (pkg/repoid) and a ref git would
// accept (checkRef), else it is refused with 400 and nothing is published.
//
// Each event's Nats-Msg-Id names the ref transition it reports,
// "push:<repo-key>:<hash of ref, before, after>", not the host's delivery
// id (a header the signature does not cover): a signed body replayed with
// new delivery ids within the stream's duplicate window is stored once.
package webhook

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Defaults for Options.
const (
	// DefaultAddr is where the HTTP server listens.
	DefaultAddr = "127.0.0.1:8080"
	// DefaultMaxBodyBytes is GitHub's payload cap, 25 MiB.
	DefaultMaxBodyBytes int64 = 25 << 20
	// DefaultPublishTimeout bounds the wait for JetStream's ack.
	DefaultPublishTimeout = 5 * time.Second
	// DefaultShutdownTimeout bounds the graceful shutdown of Run.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultMaxInflightBytes bounds the bodies held at once: two bodies
	// of the largest size, or 2048 usual ones (one 32 KiB block each),
	// well inside the 256Mi the deployment gives ingest.
	DefaultMaxInflightBytes int64 = 64 << 20
	// DefaultInflightWait is how long a body waits for room before 503.
	DefaultInflightWait = 2 * time.Second
)

// Options configures the webhook handler and server. A provider whose
// secret is empty rejects every webhook with 401 and logs which flag to set.
type Options struct {
	// Addr is the listen address of the ingest binary (Run takes a listener).
	Addr string
	// GitHubSecret verifies X-Hub-Signature-256.
	GitHubSecret string
	// GitLabToken is compared with X-Gitlab-Token.
	GitLabToken string
	// GiteaSecret verifies X-Gitea-Signature (and X-Gogs-Signature).
	GiteaSecret string
	// BitbucketSecret verifies Bitbucket Cloud's X-Hub-Signature.
	BitbucketSecret string
	// MaxBodyBytes refuses larger bodies with 413; zero means the default.
	MaxBodyBytes int64
	// MaxInflightBytes bounds the memory bodies are read into, for all
	// requests at once (rounded up to 32 KiB blocks, which are reused): a
	// body is read before its signature can be checked, so this, not the
	// signature, is what bounds the memory unsigned requests can take. A
	// body that finds no room within InflightWait is answered 503 with
	// Retry-After and not read into memory. It must be at least
	// MaxBodyBytes; zero means the default.
	MaxInflightBytes int64
	// InflightWait bounds the wait for room in MaxInflightBytes; zero
	// means the default.
	InflightWait time.Duration
	// PublishTimeout bounds the wait for JetStream's ack; zero means the default.
	PublishTimeout time.Duration
	// ShutdownTimeout bounds Run's graceful shutdown; zero means the default.
	ShutdownTimeout time.Duration
}

// DefaultOptions returns the compiled-in defaults, without secrets and
// without looking at the environment.
func DefaultOptions() Options {
	return Options{
		Addr:             DefaultAddr,
		MaxBodyBytes:     DefaultMaxBodyBytes,
		MaxInflightBytes: DefaultMaxInflightBytes,
		InflightWait:     DefaultInflightWait,
		PublishTimeout:   DefaultPublishTimeout,
		ShutdownTimeout:  DefaultShutdownTimeout,
	}
}

// BindFlags registers the ingest flags on fs. Each flag defaults to its
// environment variable (FERRY_INGEST_ADDR, FERRY_GITHUB_SECRET,
// FERRY_GITLAB_TOKEN, FERRY_GITEA_SECRET, FERRY_BITBUCKET_SECRET,
// FERRY_INGEST_MAX_BODY_BYTES, FERRY_INGEST_MAX_INFLIGHT_BYTES,
// FERRY_INGEST_INFLIGHT_WAIT, FERRY_INGEST_PUBLISH_TIMEOUT), then to the
// value already in o, then to DefaultOptions. Secrets never appear in -help.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	d := DefaultOptions()
	fs.StringVar(&o.Addr, "ingest-addr", envOr("FERRY_INGEST_ADDR", or(o.Addr, d.Addr)), "listen address of the webhook server (env FERRY_INGEST_ADDR)")
	o.GitHubSecret = envOr("FERRY_GITHUB_SECRET", o.GitHubSecret)
	fs.Var(secretFlag{&o.GitHubSecret}, "github-secret", "GitHub webhook `secret` (env FERRY_GITHUB_SECRET)")
	o.GitLabToken = envOr("FERRY_GITLAB_TOKEN", o.GitLabToken)
	fs.Var(secretFlag{&o.GitLabToken}, "gitlab-token", "GitLab webhook secret `token` (env FERRY_GITLAB_TOKEN)")
	o.GiteaSecret = envOr("FERRY_GITEA_SECRET", o.GiteaSecret)
	fs.Var(secretFlag{&o.GiteaSecret}, "gitea-secret", "Gitea/Gogs webhook `secret` (env FERRY_GITEA_SECRET)")
	o.BitbucketSecret = envOr("FERRY_BITBUCKET_SECRET", o.BitbucketSecret)
	fs.Var(secretFlag{&o.BitbucketSecret}, "bitbucket-secret", "Bitbucket Cloud webhook `secret` (env FERRY_BITBUCKET_SECRET)")
	fs.Int64Var(&o.MaxBodyBytes, "ingest-max-body-bytes", envInt64("FERRY_INGEST_MAX_BODY_BYTES", orInt(o.MaxBodyBytes, d.MaxBodyBytes)), "largest webhook body accepted (env FERRY_INGEST_MAX_BODY_BYTES)")
	fs.Int64Var(&o.MaxInflightBytes, "ingest-max-inflight-bytes", envInt64("FERRY_INGEST_MAX_INFLIGHT_BYTES", orInt(o.MaxInflightBytes, d.MaxInflightBytes)), "most body bytes read, verified and parsed at once; more waits, then 503 (env FERRY_INGEST_MAX_INFLIGHT_BYTES)")
	fs.DurationVar(&o.InflightWait, "ingest-inflight-wait", envDuration("FERRY_INGEST_INFLIGHT_WAIT", orDur(o.InflightWait, d.InflightWait)), "how long a body waits for room under --ingest-max-inflight-bytes before 503 (env FERRY_INGEST_INFLIGHT_WAIT)")
	fs.DurationVar(&o.PublishTimeout, "ingest-publish-timeout", envDuration("FERRY_INGEST_PUBLISH_TIMEOUT", orDur(o.PublishTimeout, d.PublishTimeout)), "how long to wait for JetStream's ack before answering 503 (env FERRY_INGEST_PUBLISH_TIMEOUT)")
}

// withDefaults fills zero values and rejects nonsense.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.MaxBodyBytes < 0 || o.MaxInflightBytes < 0 || o.InflightWait < 0 || o.PublishTimeout < 0 || o.ShutdownTimeout < 0 {
		return o, fmt.Errorf("ingest options: max body and in-flight bytes, in-flight wait, publish and shutdown timeouts must not be negative")
	}
	o.Addr = or(o.Addr, d.Addr)
	o.MaxBodyBytes = orInt(o.MaxBodyBytes, d.MaxBodyBytes)
	o.MaxInflightBytes = orInt(o.MaxInflightBytes, d.MaxInflightBytes)
	o.InflightWait = orDur(o.InflightWait, d.InflightWait)
	if o.MaxInflightBytes < o.MaxBodyBytes {
		return o, fmt.Errorf("ingest options: max in-flight bytes (%d) must be at least max body bytes (%d), or a largest body could never be read", o.MaxInflightBytes, o.MaxBodyBytes)
	}
	o.PublishTimeout = orDur(o.PublishTimeout, d.PublishTimeout)
	o.ShutdownTimeout = orDur(o.ShutdownTimeout, d.ShutdownTimeout)
	return o, nil
}

// secretFlag is a string flag whose value is never printed, so a secret
// taken from the environment does not show up in -help.
type secretFlag struct{ p *string }

func (s secretFlag) String() string { return "" }

func (s secretFlag) Set(v string) error {
	*s.p = v
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt64(k string, def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv(k), 10, 64); err == nil {
		return n
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(k)); err == nil {
		return d
	}
	return def
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orInt(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
