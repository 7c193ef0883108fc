// Package worker is Ferry's apply worker: it pulls the desired state of its
// own cluster from JetStream, applies it with server-side apply, reports a
// SyncResult per attempt and only then acknowledges the message.
package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/apply/driftwatch"
)

// TracerName is the OpenTelemetry instrumentation name of the worker's spans.
const TracerName = "github.com/ferrycd/ferry/services/apply"

// ackWait is how long JetStream waits for a settlement before it
// redelivers; heartbeats every ackWait/3 keep long applies and queued
// messages from being redelivered, while a crashed worker's messages come
// back within ackWait.
const ackWait = 30 * time.Second

// drainTimeout bounds how long shutdown waits for the consumer to hand
// over the messages it has buffered.
const drainTimeout = 10 * time.Second

// ConsumerName is the durable consumer of a cluster's worker.
func ConsumerName(cluster string) string { return subject.ApplyConsumer(cluster) }

// worker holds what every sync of one cluster shares.
type worker struct {
	opts    Options
	js      jetstream.JetStream
	desired jetstream.Stream
	kube    *kube
	tracer  trace.Tracer
	budget  *byteBudget // bundle bytes being applied at once (limits.go)

	mu      sync.Mutex
	applied map[string]appliedState // by app

	ctl   *control            // operator commands, app controls, heartbeat (commands.go)
	drift *driftwatch.Watcher // drift of applied objects (drift.go)
}

// appliedState is what this process last applied successfully for an app.
type appliedState struct {
	digest, namespace string
	objects           []*ferryv1.ObjectRef
	health            ferryv1.Health
}

// Run applies the desired state of opts.Cluster until ctx is done, then
// stops pulling, settles what it holds (work not finished is handed back
// for redelivery), and returns nil.
func Run(ctx context.Context, js jetstream.JetStream, cfg *rest.Config, opts Options) error {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return err
	}
	ctx = logging.With(ctx, "cluster", opts.Cluster)
	k, err := newKube(cfg, opts)
	if err != nil {
		return err
	}
	cons, err := stream.Durable(ctx, js, subject.StreamDesired, consumerConfig(opts))
	if err != nil {
		return err
	}
	desired, err := js.Stream(ctx, subject.StreamDesired)
	if err != nil {
		return fmt.Errorf("open stream %s: %w", subject.StreamDesired, err)
	}
	w := &worker{
		opts: opts, js: js, desired: desired, kube: k,
		tracer:  otel.Tracer(TracerName),
		budget:  newByteBudget(opts.MaxBundleBytes),
		applied: map[string]appliedState{},
	}
	stopDrift, err := w.startDrift(ctx, cfg)
	if err != nil {
		return err
	}
	defer stopDrift()
	stopControl, err := w.startControl(ctx)
	if err != nil {
		return err
	}
	defer stopControl()
	stopQueries, err := w.startQueries(ctx)
	if err != nil {
		return err
	}
	defer stopQueries()
	return w.consume(ctx, cons)
}

// consumerConfig is the durable pull consumer of one cluster: the newest
// revision of each app first, explicit acks, room for every app in flight.
func consumerConfig(opts Options) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName(opts.Cluster),
		Description:   "apply worker of cluster " + opts.Cluster,
		FilterSubject: subject.DesiredForCluster(opts.Cluster),
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: max(16*opts.Concurrency, 256),
	}
}

// consume pulls messages into the dispatcher until ctx is done, then
// drains the consumer and waits for every held message to be settled.
func (w *worker) consume(ctx context.Context, cons jetstream.Consumer) error {
	log := logging.From(ctx)
	d := newDispatcher(ctx, w.opts.Concurrency, w.gated(w.handle), w.attributed(w.superseded))
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			log.Error("message without jetstream metadata", "subject", msg.Subject(), "error", err)
			_ = msg.Term()
			return
		}
		d.enqueue(&delivery{msg: msg, meta: meta, stop: heartbeat(msg, ackWait/3)})
	},
		jetstream.PullMaxMessages(2*w.opts.Concurrency),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			log.Warn("consume", "error", err)
		}),
	)
	if err != nil {
		return fmt.Errorf("consume %s: %w", ConsumerName(w.opts.Cluster), err)
	}
	log.Info("apply worker started", "consumer", ConsumerName(w.opts.Cluster), "concurrency", w.opts.Concurrency)
	<-ctx.Done()
	cc.Drain()
	select {
	case <-cc.Closed():
	case <-time.After(drainTimeout):
		log.Warn("consumer did not drain in time, stopping it", "timeout", drainTimeout)
		cc.Stop()
	}
	d.wait()
	log.Info("apply worker stopped")
	return nil
}
