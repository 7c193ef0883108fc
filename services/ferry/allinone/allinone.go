// Package allinone runs Ferry's four services (ingest, render, an apply
// worker, drift) in one process on one JetStream connection. `ferry dev`
// composes the quickstart with it, and the end-to-end tests and benchmarks
// compose theirs, so all of them run the pipeline the same way.
package allinone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/services/apply/worker"
	"github.com/ferrycd/ferry/services/drift/alerter"
	"github.com/ferrycd/ferry/services/ingest/webhook"
	"github.com/ferrycd/ferry/services/render/renderer"
)

// Config holds each service's options.
type Config struct {
	// Listener receives webhooks; ingest closes it on shutdown.
	Listener net.Listener
	// Ingest, Render, Worker and Drift configure the services. Worker.Cluster is required.
	Ingest webhook.Options
	Render renderer.Options
	Worker worker.Options
	Drift  alerter.Options
	// Rest is the apply worker's cluster.
	Rest *rest.Config
	// IngestJS, RenderJS, DriftJS and WorkerJS, when set, are each
	// service's own connection (its own, restricted NATS identity, see
	// pkg/natsauth); a service without one uses the js of Start.
	IngestJS, RenderJS, DriftJS, WorkerJS jetstream.JetStream
}

// or is js, or def when js is nil.
func or(js, def jetstream.JetStream) jetstream.JetStream {
	if js != nil {
		return js
	}
	return def
}

// Pipeline is the running services.
type Pipeline struct {
	cfg    Config
	js     jetstream.JetStream
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	err        error
	failed     chan struct{}
	stopWorker context.CancelFunc
	workerDone chan struct{}
}

// Start runs every service until Stop. The logger in ctx is used, with a
// "service" attribute per service; ctx's cancellation is not inherited, so
// the caller decides when to stop.
func Start(ctx context.Context, js jetstream.JetStream, cfg Config) (*Pipeline, error) {
	if cfg.Listener == nil || cfg.Rest == nil || cfg.Worker.Cluster == "" {
		return nil, errors.New("allinone: listener, cluster config and worker cluster are required")
	}
	p := &Pipeline{cfg: cfg, js: js, failed: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.run("ingest", func(ctx context.Context) error {
		return webhook.Run(ctx, or(cfg.IngestJS, js), cfg.Listener, cfg.Ingest)
	})
	p.run("render", func(ctx context.Context) error { return renderer.Run(ctx, or(cfg.RenderJS, js), cfg.Render) })
	p.run("drift", func(ctx context.Context) error { return alerter.Run(ctx, or(cfg.DriftJS, js), cfg.Drift) })
	p.StartWorker()
	return p, nil
}

func (p *Pipeline) run(service string, fn func(context.Context) error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.fail(service, fn(logging.With(p.ctx, "service", service)))
	}()
}

// fail records the first error a service stopped with.
func (p *Pipeline) fail(service string, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = fmt.Errorf("%s: %w", service, err)
		close(p.failed)
	}
}

// StartWorker starts the apply worker (again, after StopWorker).
func (p *Pipeline) StartWorker() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopWorker != nil {
		return
	}
	ctx, cancel := context.WithCancel(logging.With(p.ctx, "service", "apply", "cluster", p.cfg.Worker.Cluster))
	done := make(chan struct{})
	p.stopWorker, p.workerDone = cancel, done
	go func() {
		defer close(done)
		p.fail("apply", worker.Run(ctx, or(p.cfg.WorkerJS, p.js), p.cfg.Rest, p.cfg.Worker))
	}()
}

// StopWorker stops the apply worker and waits until it has settled what it held.
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

// Failed is closed when a service stopped with an error; Err says which.
func (p *Pipeline) Failed() <-chan struct{} { return p.failed }

// Err returns the first error a service stopped with, or nil.
func (p *Pipeline) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stop stops every service gracefully and returns the first error any of
// them stopped with.
func (p *Pipeline) Stop() error {
	p.StopWorker()
	p.cancel()
	p.wg.Wait()
	return p.Err()
}
