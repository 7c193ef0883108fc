package renderer

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
	"github.com/ferrycd/ferry/services/render/source"
)

// ConsumerName is the durable consumer render reads FERRY_GIT with.
const ConsumerName = "render"

// tracer returns the tracer of the current global provider (looked up on
// use, so a provider installed after start is honoured).
func tracer() trace.Tracer { return otel.Tracer("github.com/ferrycd/ferry/services/render/renderer") }

// renderer holds what processing a push needs.
type renderer struct {
	js      jetstream.JetStream
	desired jetstream.Stream // FERRY_DESIRED, for the last state per subject
	opts    Options
	cache   *gitcache.Cache
	apps    *appIndex
	tools   []source.Tool
	state   *state
	// platforms are the repositories whose ferry.yaml declares apps.
	platforms platforms
}

// Run consumes push events until ctx is done. Pushes of different
// repositories are rendered in parallel by opts.Workers workers, pushes of
// one repository in order. On shutdown it stops pulling, finishes the
// pushes in progress, naks the ones not started and returns nil.
func Run(ctx context.Context, js jetstream.JetStream, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	log := logging.From(ctx)
	ps, err := parsePlatforms(opts.PlatformRepos)
	if err != nil {
		return err
	}
	cache, err := gitcache.New(opts.CacheDir, opts.FetchTimeout)
	if err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, subject.BucketApps)
	if err != nil {
		return fmt.Errorf("open kv %s: %w", subject.BucketApps, err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	apps, err := watchApps(watchCtx, kv, ps)
	if err != nil {
		return err
	}
	cons, err := stream.Durable(ctx, js, subject.StreamGit, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "render: push events to desired state",
		FilterSubject: subject.AllGit,
		MaxDeliver:    -1,
		MaxAckPending: opts.Workers * 16,
	})
	if err != nil {
		return err
	}
	desired, err := js.Stream(ctx, subject.StreamDesired)
	if err != nil {
		return fmt.Errorf("open stream %s: %w", subject.StreamDesired, err)
	}
	r := &renderer{js: js, desired: desired, opts: opts, cache: cache, apps: apps, tools: source.Tools(), state: newState(opts.CacheBytes), platforms: ps}
	if opts.started != nil {
		opts.started(r)
	}

	queues := make([]chan jetstream.Msg, opts.Workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan jetstream.Msg, 4)
		wg.Add(1)
		go func(q <-chan jetstream.Msg) {
			defer wg.Done()
			for msg := range q {
				if ctx.Err() != nil {
					_ = msg.Nak()
					continue
				}
				r.process(context.WithoutCancel(ctx), msg)
			}
		}(queues[i])
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		h := fnv.New32a()
		_, _ = h.Write([]byte(msg.Subject()))
		select {
		case queues[h.Sum32()%uint32(len(queues))] <- msg:
		case <-ctx.Done():
			_ = msg.Nak()
		}
	}, jetstream.PullMaxMessages(opts.Workers*2), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn("consume", "error", err)
	}))
	if err != nil {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
		return fmt.Errorf("consume %s: %w", subject.StreamGit, err)
	}
	log.Info("render started", "workers", opts.Workers, "cache_dir", opts.CacheDir, "platform_repos", opts.PlatformRepos, "platform_ref", opts.PlatformRef)

	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	log.Info("render stopped", "cache", cache.Stats(), "renders", r.state.counters())
	return nil
}

// process decodes one push, handles it inside a "render.push" span that
// continues the publisher's trace, and settles the message.
func (r *renderer) process(ctx context.Context, msg jetstream.Msg) {
	var ev ferryv1.PushEvent
	ctx, err := events.DecodeMsg(ctx, msg, &ev)
	ctx = logging.With(ctx, "subject", msg.Subject())
	if err != nil {
		logging.From(ctx).Error("dropping undecodable push event", "error", err)
		_ = msg.Term()
		return
	}
	ctx, span := tracer().Start(ctx, "render.push")
	defer span.End()
	span.SetAttributes(attribute.String("ferry.repo", ev.GetRepoKey()), attribute.String("ferry.ref", ev.GetRef()),
		attribute.String("ferry.revision", ev.GetAfter()), attribute.String("ferry.push_id", ev.GetId()))
	ctx = logging.With(ctx, "repo", ev.GetRepoKey(), "ref", ev.GetRef(), "revision", ev.GetAfter(), "push_id", ev.GetId())
	_ = msg.InProgress()
	err = r.handle(ctx, &ev)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "push failed")
	}
	r.settle(ctx, msg, &ev, err)
}
