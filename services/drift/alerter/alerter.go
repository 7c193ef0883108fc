// Package alerter is the drift service's consumer of sync results. In this
// first cut it logs every result and counts outcomes per phase; Slack,
// commit statuses and drift events build on the same loop.
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
)

// Durable is the consumer name of the drift service on FERRY_STATUS.
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

// Options configures the service.
type Options struct {
	// Counters receives the counts; optional.
	Counters *Counters
}

// Run consumes sync results until ctx is done, then drains the consumer.
func Run(ctx context.Context, js jetstream.JetStream, opts Options) error {
	if opts.Counters == nil {
		opts.Counters = &Counters{}
	}
	cons, err := stream.Durable(ctx, js, subject.StreamStatus, jetstream.ConsumerConfig{
		Durable:       Durable,
		FilterSubject: subject.AllStatus,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckWait:       30 * time.Second,
	})
	if err != nil {
		return err
	}
	log := logging.From(ctx)
	cc, err := cons.Consume(func(msg jetstream.Msg) { handle(ctx, msg, opts.Counters) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				log.Warn("consume sync results", "error", err)
			}
		}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", subject.StreamStatus, err)
	}
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	return nil
}

func handle(ctx context.Context, msg jetstream.Msg, counters *Counters) {
	var res ferryv1.SyncResult
	ctx, err := events.DecodeMsg(ctx, msg, &res)
	log := logging.From(ctx).With("subject", msg.Subject())
	if err != nil {
		log.Error("dropping undecodable sync result", "error", err)
		_ = msg.Term()
		return
	}
	_, span := otel.Tracer("github.com/ferrycd/ferry/services/drift").Start(ctx, "drift.result")
	span.SetAttributes(attribute.String("ferry.app", res.GetApp()), attribute.String("ferry.cluster", res.GetCluster()),
		attribute.String("ferry.revision", res.GetRevision()), attribute.String("ferry.phase", res.GetPhase().String()))
	defer span.End()
	counters.Add(res.GetPhase())
	attrs := []any{"cluster", res.GetCluster(), "app", res.GetApp(), "revision", res.GetRevision(),
		"phase", res.GetPhase().String(), "objects", len(res.GetObjects())}
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_RENDER_FAILED:
		log.Warn("sync failed", append(attrs, "message", res.GetMessage(), "file", res.GetFile())...)
	default:
		log.Info("sync result", attrs...)
	}
	if err := msg.Ack(); err != nil {
		log.Warn("ack sync result", "error", err)
	}
}
