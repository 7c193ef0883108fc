// Package alerter is the drift service: it consumes sync results and drift
// events, keeps incidents per (cluster, app, kind) in a KV bucket, and
// alerts Slack once per incident (updates, threads or quiet repeats after
// that, and a resolved message). Commit statuses for the Git host run on
// their own consumers (package commitstatus). With a zero Options it only
// logs and counts.
package alerter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/commitstatus"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/incident"
)

// Durable is the consumer name of the drift service's alerting on
// FERRY_STATUS and FERRY_DRIFT.
const Durable = "drift"

// Counters counts sync results by phase. The zero value is ready to use.
type Counters struct {
	mu      sync.Mutex
	byPhase map[ferryv1.Phase]int64
}

// Add counts one result.
func (c *Counters) Add(p ferryv1.Phase) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPhase == nil {
		c.byPhase = map[ferryv1.Phase]int64{}
	}
	c.byPhase[p]++
}

// Get returns how many results of phase p were seen.
func (c *Counters) Get(p ferryv1.Phase) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byPhase[p]
}

// Options configures the service. The zero value logs and counts only.
type Options struct {
	// Counters receives the counts; optional.
	Counters *Counters
	// Config routes alerts to Slack and commit statuses to Git hosts; nil
	// means log only. It is validated by Run.
	Config *config.Config
	// Storage of the incident and commit status buckets (file by default).
	Storage jetstream.StorageType
}

// Run consumes sync results and drift events until ctx is done, then drains
// the consumers.
func Run(ctx context.Context, js jetstream.JetStream, opts Options) error {
	if opts.Counters == nil {
		opts.Counters = &Counters{}
	}
	cfg := config.Config{}
	if opts.Config != nil {
		cfg = *opts.Config
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	store, err := incident.OpenStore(ctx, js, opts.Storage)
	if err != nil {
		return err
	}
	notifiers, err := newNotifiers(&cfg)
	if err != nil {
		return err
	}
	h := &incidents{store: store, cfg: &cfg, d: &deliverer{
		cfg: &cfg, notifiers: notifiers, throttle: newThrottle(cfg.Throttle), now: time.Now,
	}}
	var ccs []jetstream.ConsumeContext
	defer func() {
		for _, cc := range ccs {
			cc.Drain()
		}
		for _, cc := range ccs {
			<-cc.Closed()
		}
	}()
	for _, c := range []struct {
		stream, filter string
		handle         func(context.Context, jetstream.Msg)
	}{
		{subject.StreamStatus, subject.AllStatus, func(ctx context.Context, m jetstream.Msg) { h.handleResult(ctx, m, opts.Counters) }},
		{subject.StreamDrift, subject.AllDrift, h.handleDrift},
	} {
		cc, err := consume(ctx, js, c.stream, c.filter, c.handle)
		if err != nil {
			return err
		}
		ccs = append(ccs, cc)
	}
	if len(cfg.CommitStatus.Repos) > 0 {
		cs, err := commitstatus.Start(ctx, js, commitstatus.Options{Config: &cfg, Storage: opts.Storage})
		if err != nil {
			return err
		}
		defer cs.Stop()
	}
	logging.From(ctx).Info("drift service running", "routes", len(cfg.Routes), "commit_status_repos", len(cfg.CommitStatus.Repos))
	<-ctx.Done()
	return nil
}

func consume(ctx context.Context, js jetstream.JetStream, streamName, filter string, handle func(context.Context, jetstream.Msg)) (jetstream.ConsumeContext, error) {
	cons, err := stream.Durable(ctx, js, streamName, jetstream.ConsumerConfig{
		Durable: Durable, FilterSubject: filter, DeliverPolicy: jetstream.DeliverNewPolicy,
		AckWait: 2 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	log := logging.From(ctx)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		// Work on a message outlives ctx's cancellation only by its own bound:
		// a drain lets in-flight alerts finish.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		handle(mctx, m)
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			log.Warn("consume", "stream", streamName, "error", err)
		}
	}))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", streamName, err)
	}
	return cc, nil
}

func (h *incidents) handleResult(ctx context.Context, msg jetstream.Msg, counters *Counters) {
	var res ferryv1.SyncResult
	ctx, err := events.DecodeMsg(ctx, msg, &res)
	log := logging.From(ctx).With("subject", msg.Subject())
	if err != nil {
		log.Error("dropping undecodable sync result", "error", err)
		_ = msg.Term()
		return
	}
	ctx, span := otel.Tracer("github.com/ferrycd/ferry/services/drift").Start(ctx, "drift.result")
	span.SetAttributes(attribute.String("ferry.app", res.GetApp()), attribute.String("ferry.cluster", res.GetCluster()),
		attribute.String("ferry.revision", res.GetRevision()), attribute.String("ferry.phase", res.GetPhase().String()))
	defer span.End()
	if meta, err := msg.Metadata(); err != nil || meta.NumDelivered == 1 {
		counters.Add(res.GetPhase())
		attrs := []any{"cluster", res.GetCluster(), "app", res.GetApp(), "revision", res.GetRevision(),
			"phase", res.GetPhase().String(), "health", res.GetHealth().String(), "objects", len(res.GetObjects())}
		switch res.GetPhase() {
		case ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_RENDER_FAILED:
			log.Warn("sync failed", append(attrs, "message", res.GetMessage(), "file", res.GetFile())...)
		default:
			log.Info("sync result", attrs...)
		}
	}
	o, ok := observeResult(&res)
	if !ok {
		_ = msg.Ack()
		return
	}
	o.TraceID = traceID(ctx)
	h.handle(ctx, msg, o)
}

func (h *incidents) handleDrift(ctx context.Context, msg jetstream.Msg) {
	var ev ferryv1.DriftEvent
	ctx, err := events.DecodeMsg(ctx, msg, &ev)
	if err != nil {
		logging.From(ctx).Error("dropping undecodable drift event", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	ctx, span := otel.Tracer("github.com/ferrycd/ferry/services/drift").Start(ctx, "drift.event")
	span.SetAttributes(attribute.String("ferry.app", ev.GetApp()), attribute.String("ferry.cluster", ev.GetCluster()),
		attribute.String("ferry.revision", ev.GetRevision()), attribute.Int("ferry.drifted", len(ev.GetObjects())),
		attribute.Bool("ferry.corrected", ev.GetCorrected()))
	defer span.End()
	o := observeDrift(&ev)
	o.TraceID = traceID(ctx)
	h.handle(ctx, msg, o)
}
