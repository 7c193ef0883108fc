// Package harness runs Ferry's whole pipeline in one process against real
// components (embedded NATS with JetStream, a git smart-HTTP server, a
// kube-apiserver) for the end-to-end tests and the benchmarks.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/services/apply/worker"
	"github.com/ferrycd/ferry/services/drift/alerter"
	"github.com/ferrycd/ferry/services/drift/config"
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
}

// Pipeline is a running ingest → render → apply → drift pipeline.
type Pipeline struct {
	Config
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

	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	errs       chan error
	mu         sync.Mutex
	stopWorker context.CancelFunc
	workerDone chan struct{}
}

// Start runs every service in-process. Stop it with Close.
func Start(ctx context.Context, cfg Config) (_ *Pipeline, err error) {
	if cfg.Cluster == "" {
		cfg.Cluster = "e2e"
	}
	if cfg.Secret == "" {
		cfg.Secret = "e2e-secret"
	}
	p := &Pipeline{Config: cfg, Counters: &alerter.Counters{}, errs: make(chan error, 8)}
	p.ctx, p.cancel = context.WithCancel(logging.Into(context.Background(), logging.From(ctx)))
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
	p.goRun("ingest", func(ctx context.Context) error { return webhook.Run(ctx, p.JS, ln, io) })
	p.goRun("render", func(ctx context.Context) error {
		return renderer.Run(ctx, p.JS, renderer.Options{CacheDir: filepath.Join(cfg.Dir, "render-cache")})
	})
	p.goRun("drift", func(ctx context.Context) error {
		return alerter.Run(ctx, p.JS, alerter.Options{Counters: p.Counters, Config: cfg.Drift})
	})
	p.StartWorker()
	return p, nil
}

func (p *Pipeline) goRun(name string, run func(context.Context) error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := run(logging.With(p.ctx, "service", name)); err != nil && !errors.Is(err, context.Canceled) {
			p.errs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// StartWorker starts the apply worker for the pipeline's cluster.
func (p *Pipeline) StartWorker() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopWorker != nil {
		return
	}
	ctx, cancel := context.WithCancel(logging.With(p.ctx, "service", "apply"))
	done := make(chan struct{})
	p.stopWorker, p.workerDone = cancel, done
	opts := worker.Options{Cluster: p.Cluster, HealthTimeout: p.HealthTimeout, DriftResync: p.DriftResync}
	go func() {
		defer close(done)
		if err := worker.Run(ctx, p.JS, p.Rest, opts); err != nil && !errors.Is(err, context.Canceled) {
			p.errs <- fmt.Errorf("apply: %w", err)
		}
	}()
}

// StopWorker stops the apply worker and waits for it to drain.
func (p *Pipeline) StopWorker() {
	p.mu.Lock()
	cancel, done := p.stopWorker, p.workerDone
	p.stopWorker = nil
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Err returns the first error a service stopped with, if any.
func (p *Pipeline) Err() error {
	select {
	case err := <-p.errs:
		return err
	default:
		return nil
	}
}

// Close stops every service, then NATS and the git server.
func (p *Pipeline) Close() {
	p.StopWorker()
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
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
