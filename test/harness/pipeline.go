// Package harness runs Ferry's whole pipeline in one process against real
// components (embedded NATS with JetStream, a git smart-HTTP server, a
// kube-apiserver) for the end-to-end tests and the benchmarks.
package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/services/apply/worker"
	"github.com/ferrycd/ferry/services/drift/alerter"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/ferry/allinone"
	"github.com/ferrycd/ferry/services/ingest/webhook"
	"github.com/ferrycd/ferry/services/render/renderer"
)

// Config says where the pipeline keeps state and which cluster it serves.
type Config struct {
	// Dir holds the NATS store, git repositories and render cache.
	Dir string
	// Rest is the cluster the apply worker applies to.
	Rest *rest.Config
	// Cluster is the worker's cluster name.
	Cluster string
	// Secret signs webhooks for every provider.
	Secret string
	// Drift routes alerts and commit statuses; nil logs only.
	Drift *config.Config
	// HealthTimeout bounds the worker's health wait. The harness cluster
	// runs no controllers, so Deployments never become ready: keep it short.
	HealthTimeout time.Duration
	// DriftResync is the worker's full drift comparison interval.
	DriftResync time.Duration
	// PlatformRepos names the repositories on Git whose ferry.yaml
	// declares apps; empty trusts every repository on Git.
	PlatformRepos []string
}

// Pipeline is a running ingest → render → apply → drift pipeline.
type Pipeline struct {
	Config
	*allinone.Pipeline
	// NATS is the embedded server.
	NATS *server.Server
	// NC and JS talk to it.
	NC *nats.Conn
	JS jetstream.JetStream
	// Git serves repositories over HTTP.
	Git *gitserver.Server
	// IngestURL is the base URL of ingest, e.g. http://127.0.0.1:4000.
	IngestURL string
	// Counters counts sync results seen by the drift service.
	Counters *alerter.Counters
}

// Start runs every service in-process. Stop it with Close.
func Start(ctx context.Context, cfg Config) (_ *Pipeline, err error) {
	if cfg.Cluster == "" {
		cfg.Cluster = "e2e"
	}
	if cfg.Secret == "" {
		cfg.Secret = "e2e-secret"
	}
	p := &Pipeline{Config: cfg, Counters: &alerter.Counters{}}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.NATS, err = natsserver.Start(natsserver.Options{Port: -1, StoreDir: filepath.Join(cfg.Dir, "nats")}); err != nil {
		return nil, err
	}
	if p.NC, err = nats.Connect(p.NATS.ClientURL(), nats.MaxReconnects(-1)); err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	if p.JS, err = jetstream.New(p.NC); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err = stream.Ensure(ctx, p.JS, stream.DefaultOptions()); err != nil {
		return nil, err
	}
	if p.Git, err = gitserver.Start(filepath.Join(cfg.Dir, "git")); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	p.IngestURL = "http://" + ln.Addr().String()
	io := webhook.DefaultOptions()
	io.GitHubSecret, io.GiteaSecret, io.GitLabToken, io.BitbucketSecret = cfg.Secret, cfg.Secret, cfg.Secret, cfg.Secret
	p.Pipeline, err = allinone.Start(ctx, p.JS, allinone.Config{
		Listener: ln, Ingest: io, Rest: cfg.Rest,
		Render: renderer.Options{CacheDir: filepath.Join(cfg.Dir, "render-cache"), PlatformRepos: platformRepos(cfg, p.Git)},
		Worker: worker.Options{Cluster: cfg.Cluster, HealthTimeout: cfg.HealthTimeout, DriftResync: cfg.DriftResync},
		Drift:  alerter.Options{Counters: p.Counters, Config: cfg.Drift},
	})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return p, nil
}

// Close stops every service, then NATS and the git server.
func (p *Pipeline) Close() {
	if p.Pipeline != nil {
		_ = p.Pipeline.Stop()
	}
	if p.NC != nil {
		p.NC.Close()
	}
	if p.NATS != nil {
		p.NATS.Shutdown()
		p.NATS.WaitForShutdown()
	}
	if p.Git != nil {
		_ = p.Git.Close()
	}
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// Webhook sends a signed push webhook for repo as provider would.
func (p *Pipeline) Webhook(ctx context.Context, provider string, repo *gitserver.Repo, before, after, deliveryID string) error {
	return pushhook.Send(ctx, httpClient, provider, p.IngestURL+"/webhooks/"+provider, p.Secret, pushhook.Push{
		CloneURL: repo.URL, Ref: "refs/heads/" + repo.Branch, Before: before, After: after,
		Pusher: "e2e", DeliveryID: deliveryID,
	})
}

// platformRepos returns the platform repositories render trusts: those
// cfg names on the test git server, or every repository on it when cfg
// names none (tests make one platform repository each).
func platformRepos(cfg Config, git *gitserver.Server) []string {
	if len(cfg.PlatformRepos) == 0 {
		return []string{git.URL + "/*"}
	}
	out := make([]string, len(cfg.PlatformRepos))
	for i, name := range cfg.PlatformRepos {
		out[i] = git.RepoURL(name)
	}
	return out
}
