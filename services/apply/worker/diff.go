package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Queries: a worker answers ferry.query.<cluster>.diff by core NATS
// request/reply (a queue group per cluster, so two workers of one
// cluster answer once), so a CLI or dashboard can show live vs desired
// without holding cluster credentials. With no worker listening, the
// asker gets "no responders" at once.

// diffTimeout bounds one diff; the answer then says it timed out.
const diffTimeout = 20 * time.Second

// maxDiffs is how many diffs run at once; more are answered "busy".
const maxDiffs = 4

// startQueries subscribes to the cluster's diff queries. The returned
// function stops taking queries and waits for those in progress.
func (w *worker) startQueries(ctx context.Context) (stop func(), err error) {
	nc := w.js.Conn()
	slots := make(chan struct{}, maxDiffs)
	var wg sync.WaitGroup
	log := logging.From(ctx)
	// The queue group is named like the worker's consumer: one per cluster.
	sub, err := nc.QueueSubscribe(subject.Query(w.opts.Cluster, subject.QueryDiff), subject.ApplyConsumer(w.opts.Cluster), func(msg *nats.Msg) {
		if msg.Reply == "" {
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			respond(ctx, msg, &ferryv1.DiffResponse{Cluster: w.opts.Cluster,
				Error: fmt.Sprintf("the worker of %s is busy with %d diffs: try again in a moment", w.opts.Cluster, maxDiffs)})
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			respond(ctx, msg, w.answerDiff(ctx, msg))
		})
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", subject.Query(w.opts.Cluster, subject.QueryDiff), err)
	}
	// Once the server has the subscription, a query no longer meets "no
	// responders"; only then say the worker answers.
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := nc.FlushWithContext(flushCtx); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe to %s: %w", subject.Query(w.opts.Cluster, subject.QueryDiff), err)
	}
	log.Info("answering diff queries", "subject", sub.Subject)
	return func() {
		closed := sub.StatusChanged(nats.SubscriptionClosed)
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			log.Warn("stop diff queries", "error", err)
		}
		// Drain returns at once; queries already delivered still reach
		// the callback, each starting a diff, until the subscription
		// closes. Only then does wg count every diff in progress.
		select {
		case <-closed:
		case <-time.After(drainTimeout):
			log.Warn("diff queries did not drain in time", "timeout", drainTimeout)
		}
		wg.Wait()
	}, nil
}

// respond sends res as the answer to msg; the asker may have given up.
func respond(ctx context.Context, msg *nats.Msg, res *ferryv1.DiffResponse) {
	data, err := proto.Marshal(res)
	if err == nil {
		err = msg.Respond(data)
	}
	if err != nil {
		logging.From(ctx).Warn("answer diff query", "app", res.GetApp(), "error", err)
	}
}

// answerDiff computes the answer to one DiffRequest within diffTimeout.
// Every failure is an answer with Error set, never a silence.
func (w *worker) answerDiff(ctx context.Context, msg *nats.Msg) *ferryv1.DiffResponse {
	req := &ferryv1.DiffRequest{}
	ctx, err := events.Decode(ctx, msg.Header, msg.Data, req)
	res := &ferryv1.DiffResponse{App: req.GetApp(), Cluster: w.opts.Cluster}
	if err != nil {
		res.Error = "unreadable diff request: " + err.Error()
		return res
	}
	if err := subject.ValidateName(req.GetApp()); err != nil {
		res.Error = "diff request: app: " + err.Error()
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, diffTimeout)
	defer cancel()
	ctx = logging.With(ctx, "app", req.GetApp(), "requested_by", req.GetRequestedBy())
	started := time.Now()
	if err := w.diff(ctx, req.GetApp(), res); err != nil {
		res.Objects = nil
		res.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			res.Error = fmt.Sprintf("diff of %s did not finish within %s: %v", req.GetApp(), diffTimeout, err)
		}
		logging.From(ctx).Info("diff failed", "error", err)
		return res
	}
	logging.From(ctx).Debug("diff answered", "objects", len(res.GetObjects()), "took", time.Since(started))
	return res
}

// diff fills res with how app's live objects differ from its desired
// state: the pinned revision while it is pinned, else the newest.
func (w *worker) diff(ctx context.Context, app string, res *ferryv1.DiffResponse) error {
	ds, err := w.desiredFor(ctx, app)
	if err != nil {
		return err
	}
	res.Revision, res.Digest = ds.GetRevision(), ds.GetDigest()
	inv, err := w.kube.loadInventory(ctx, app)
	if err != nil {
		return err
	}
	// An app removed from the registry desires nothing: with prune,
	// everything it owns goes.
	var current []*ferryv1.ObjectRef
	if !ds.GetDeleted() {
		data, err := bundle.LoadMax(ctx, w.js, ds, w.opts.MaxBundleBytes)
		if err != nil {
			return fmt.Errorf("load the manifests of %s at %s: %w", app, ds.GetRevision(), err)
		}
		objs, err := w.kube.prepare(ds, data)
		if err != nil {
			return fmt.Errorf("revision %s of %s: %w", ds.GetRevision(), app, err)
		}
		res.Objects = w.kube.objectDiffs(ctx, objs, ignoreRules(ds.GetIgnoreDifferences()))
		current = make([]*ferryv1.ObjectRef, len(objs))
		for i, u := range objs {
			current[i] = refOf(u)
		}
	}
	if ds.GetSync().GetPrune() {
		res.Objects = append(res.Objects, w.kube.pruneDiffs(ctx, app, missing(inv.objects, current))...)
	}
	// pruneDiffs leaves out what it had no time to read, so an ended
	// ctx makes the whole answer an error rather than a short list.
	return ctx.Err()
}

// desiredFor returns app's desired state the worker would apply: the
// pinned revision while pinned, else the newest on its subject.
func (w *worker) desiredFor(ctx context.Context, app string) (*ferryv1.DesiredState, error) {
	if w.ctl != nil {
		if p := w.ctl.get(app).Pinned; p != nil {
			h, err := w.ctl.history(ctx, app)
			if err != nil {
				return nil, err
			}
			if e := find(h, p.Revision, p.Digest); e != nil {
				return e.ds, nil
			}
			return nil, fmt.Errorf("%s is pinned to revision %s, which %s no longer keeps: unpin it", app, p.Revision, subject.StreamDesired)
		}
	}
	m, err := w.desired.GetLastMsgForSubject(ctx, subject.Desired(w.opts.Cluster, app))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("no desired state of %s for cluster %s: is the app registered with this cluster as a destination?", app, w.opts.Cluster)
	}
	if err != nil {
		return nil, fmt.Errorf("read the desired state of %s: %w", app, err)
	}
	ds := &ferryv1.DesiredState{}
	if err := proto.Unmarshal(m.Data, ds); err != nil {
		return nil, fmt.Errorf("decode the desired state of %s: %w", app, err)
	}
	return ds, nil
}
