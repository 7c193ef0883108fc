package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Operator commands arrive on ferry.cmd.<cluster>.<app>.<verb> through a
// durable consumer of the cluster's worker and are handled one at a time:
//
//   - sync: re-apply the app's current desired state (its pinned revision
//     while pinned), even when the digest is unchanged;
//   - rollback: apply an earlier revision from the FERRY_DESIRED history
//     (the last revisions per app the stream keeps) and pin the app to it;
//   - suspend / resume: stop applying new desired states and self-healing
//     drift (drift is still reported, marked suspended) / start again,
//     applying the latest desired state (the pinned one while pinned),
//     which also reverts changes made while suspended;
//   - unpin: end a rollback's pin and apply the latest rendered state.
//
// A command that applies something republishes the chosen DesiredState on
// the app's desired subject, marked with cluster.HeaderCommand, so it goes
// through the same consumer and per-app queue as render's revisions and
// a restart cannot lose it. Its SyncResult names the command and who
// requested it; commands that apply nothing get a SyncResult with phase
// UNSPECIFIED saying what changed. Either result is also sent to
// subject.CommandReply(cluster, id), where a client waits for it.
//
// A pin ends with the next commit: a desired state from render whose push
// was received (received_unix_nano, else rendered_unix_nano) after the pin
// was set. Desired states of commits pushed before the pin, including
// ones rendered late, are acked as skipped. Both times come from
// different machines' clocks, so a commit pushed within clock skew of the
// pin may fall on either side; unpin is the explicit way out.

// commandExpiry rejects commands that waited longer than this, e.g. while
// the worker was down: a rollback hours later would surprise.
const commandExpiry = 10 * time.Minute

// commandTimeout bounds handling one command.
const commandTimeout = 30 * time.Second

// errRejected marks a command that is wrong and will not be retried.
var errRejected = errors.New("rejected")

// rejectf returns an errRejected error with a reason.
func rejectf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errRejected, fmt.Sprintf(format, args...))
}

// verbTokens maps command verbs to their subject tokens.
var verbTokens = map[ferryv1.Verb]string{
	ferryv1.Verb_VERB_SYNC:     subject.VerbSync,
	ferryv1.Verb_VERB_ROLLBACK: subject.VerbRollback,
	ferryv1.Verb_VERB_SUSPEND:  subject.VerbSuspend,
	ferryv1.Verb_VERB_RESUME:   subject.VerbResume,
	ferryv1.Verb_VERB_UNPIN:    subject.VerbUnpin,
}

// control is the operator's side of a worker: commands, the app controls
// they set (kept in KV so they survive restarts) and the heartbeat.
type control struct {
	w        *worker
	nc       *nats.Conn
	state    jetstream.KeyValue // subject.BucketAppState
	registry jetstream.KeyValue // subject.BucketClusters
	started  time.Time

	mu       sync.Mutex
	controls cluster.Controls
	revision uint64 // KV revision of controls, 0 while the key does not exist
	applied  map[string]cluster.AppStatus

	historyMu sync.Mutex // one user of the history consumer at a time
}

// startControl loads the app controls, starts consuming commands and
// sending heartbeats. The returned function stops both; call it after the
// desired-state consumer has drained.
func (w *worker) startControl(ctx context.Context) (stop func(), err error) {
	c := &control{w: w, nc: w.js.Conn(), started: time.Now(), applied: map[string]cluster.AppStatus{}}
	if c.state, err = w.js.KeyValue(ctx, subject.BucketAppState); err != nil {
		return nil, fmt.Errorf("open kv %s: %w", subject.BucketAppState, err)
	}
	if c.registry, err = w.js.KeyValue(ctx, subject.BucketClusters); err != nil {
		return nil, fmt.Errorf("open kv %s: %w", subject.BucketClusters, err)
	}
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	c.seedApplied(ctx)
	cons, err := stream.Durable(ctx, w.js, subject.StreamCommands, commandConsumerConfig(w.opts.Cluster))
	if err != nil {
		return nil, err
	}
	w.ctl = c
	log := logging.From(ctx)
	cc, err := cons.Consume(func(msg jetstream.Msg) { c.handleCommand(ctx, msg) },
		jetstream.PullMaxMessages(1),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { log.Warn("consume commands", "error", err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", subject.CommandConsumer(w.opts.Cluster), err)
	}
	beatCtx, stopBeats := context.WithCancel(ctx)
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		c.heartbeats(beatCtx)
	}()
	return func() {
		cc.Drain()
		select {
		case <-cc.Closed():
		case <-time.After(drainTimeout):
			cc.Stop()
		}
		stopBeats()
		<-beating
	}, nil
}

// commandConsumerConfig is the durable consumer of a cluster's commands.
// A new consumer starts with new commands, not a day of old ones.
func commandConsumerConfig(clusterName string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       subject.CommandConsumer(clusterName),
		Description:   "operator commands for the apply worker of cluster " + clusterName,
		FilterSubject: subject.CommandsForCluster(clusterName),
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
	}
}

// handleCommand executes one command and settles it: ack once it is
// done or rejected (with its result published), NakWithDelay when NATS
// failed and it is worth another try.
func (c *control) handleCommand(ctx context.Context, msg jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commandTimeout)
	defer cancel()
	cmd := &ferryv1.Command{}
	ctx, decodeErr := events.DecodeMsg(ctx, msg, cmd)
	app, verb, err := c.parseCommand(msg.Subject(), cmd)
	if decodeErr != nil {
		err = fmt.Errorf("%w: %w", errRejected, decodeErr)
	}
	info := commandInfo{id: cmd.GetId(), verb: verb, by: cmd.GetRequestedBy()}
	if info.id == "" {
		if meta, merr := msg.Metadata(); merr == nil {
			info.id = fmt.Sprintf("seq-%d", meta.Sequence.Stream)
		}
	}
	ctx = withCommand(logging.With(ctx, "app", app, "command", info.id, "verb", verb, "requested_by", info.by), info)
	log := logging.From(ctx)
	started := time.Now()
	var note string
	if err == nil {
		note, err = c.execute(ctx, cmd, app, info)
	}
	if err != nil && !errors.Is(err, errRejected) {
		meta, _ := msg.Metadata()
		var n uint64 = 1
		if meta != nil {
			n = meta.NumDelivered
		}
		delay := retryDelay(n)
		log.Warn("command failed, will retry", "error", err, "retry_in", delay)
		_ = msg.NakWithDelay(delay)
		return
	}
	if err != nil {
		note = err.Error()
		log.Warn("command rejected", "error", err)
	} else {
		log.Info("command done", "result", note)
	}
	if note != "" {
		res := c.commandResult(app, note, started)
		if perr := c.w.publish(ctx, res); perr != nil {
			log.Warn("could not report the command, will retry", "error", perr)
			_ = msg.NakWithDelay(retryInitial)
			return
		}
	}
	if aerr := msg.Ack(); aerr != nil {
		log.Warn("ack command", "error", aerr)
	}
}

// parseCommand returns the app and verb token of a command, checking the
// payload against its subject ferry.cmd.<cluster>.<app>.<verb>.
func (c *control) parseCommand(subj string, cmd *ferryv1.Command) (app, verb string, err error) {
	parts := strings.Split(subj, ".")
	if len(parts) != 5 {
		return "", "", rejectf("subject %q is not ferry.cmd.<cluster>.<app>.<verb>", subj)
	}
	app, verb = parts[3], parts[4]
	switch {
	case parts[2] != c.w.opts.Cluster || (cmd.GetCluster() != "" && cmd.GetCluster() != c.w.opts.Cluster):
		return app, verb, rejectf("command for cluster %q reached the worker of %q", cmd.GetCluster(), c.w.opts.Cluster)
	case cmd.GetApp() != "" && cmd.GetApp() != app:
		return app, verb, rejectf("command names app %q on the subject of %q", cmd.GetApp(), app)
	case subject.ValidateName(app) != nil:
		return app, verb, rejectf("bad app name %q", app)
	}
	if cmd.GetVerb() != ferryv1.Verb_VERB_UNSPECIFIED && verbTokens[cmd.GetVerb()] != verb {
		return app, verb, rejectf("command verb %s on subject verb %q", cmd.GetVerb(), verb)
	}
	if at := cmd.GetRequestedUnixNano(); at > 0 && time.Since(time.Unix(0, at)) > commandExpiry {
		return app, verb, rejectf("command requested %s ago, more than %s", time.Since(time.Unix(0, at)).Round(time.Second), commandExpiry)
	}
	return app, verb, nil
}

// execute carries out a valid command. note is the result message of a
// command that applies nothing; it is empty when a desired state was
// queued, whose own SyncResult answers the command.
func (c *control) execute(ctx context.Context, cmd *ferryv1.Command, app string, info commandInfo) (note string, err error) {
	hold := cluster.Hold{By: cmd.GetRequestedBy(), At: time.Now(), Command: info.id}
	switch info.verb {
	case subject.VerbSuspend:
		err := c.update(ctx, app, func(ac *cluster.AppControl) {
			if ac.Suspended == nil {
				ac.Suspended = &hold
			}
		})
		return "automated sync suspended", err
	case subject.VerbResume:
		var pin *cluster.Pin
		if err := c.update(ctx, app, func(ac *cluster.AppControl) { ac.Suspended, pin = nil, ac.Pinned }); err != nil {
			return "", err
		}
		if pin != nil {
			// Self-heal was held too: re-apply the pinned revision, the
			// state the operator chose, over any change made meanwhile.
			err := c.requeue(ctx, app, info, func(h []historyEntry) *historyEntry { return find(h, pin.Revision, pin.Digest) })
			if errors.Is(err, errRejected) {
				return "automated sync resumed; the app stays pinned to revision " + pin.Revision +
					", whose desired state is no longer kept, so nothing was applied", nil
			}
			return "", err
		}
		return "", c.requeue(ctx, app, info, func(h []historyEntry) *historyEntry { return newest(h, false) })
	case subject.VerbUnpin:
		var suspended bool
		if err := c.update(ctx, app, func(ac *cluster.AppControl) { ac.Pinned, suspended = nil, ac.Suspended != nil }); err != nil {
			return "", err
		}
		if suspended {
			return "unpinned; automated sync is suspended, so nothing was applied", nil
		}
		return "", c.requeue(ctx, app, info, func(h []historyEntry) *historyEntry { return newest(h, true) })
	case subject.VerbSync:
		pin := c.get(app).Pinned
		return "", c.requeue(ctx, app, info, func(h []historyEntry) *historyEntry {
			if pin != nil {
				return find(h, pin.Revision, pin.Digest)
			}
			return newest(h, false)
		})
	case subject.VerbRollback:
		return "", c.rollback(ctx, app, cmd.GetRevision(), info, hold)
	default:
		return "", rejectf("unknown verb %q", info.verb)
	}
}

// rollback pins app to revision and queues that revision's desired state.
func (c *control) rollback(ctx context.Context, app, rev string, info commandInfo, hold cluster.Hold) error {
	if rev == "" {
		return rejectf("rollback needs a revision")
	}
	h, err := c.history(ctx, app)
	if err != nil {
		return err
	}
	target := find(h, rev, "")
	if target == nil {
		return rejectf("revision %q is not among the %d desired states of %s kept in %s", rev, len(h), app, subject.StreamDesired)
	}
	pin := &cluster.Pin{Hold: hold, Revision: target.ds.GetRevision(), Digest: target.ds.GetDigest()}
	if err := c.update(ctx, app, func(ac *cluster.AppControl) { ac.Pinned = pin }); err != nil {
		return err
	}
	return c.republish(ctx, app, target, info, "cmd-"+c.w.opts.Cluster+"-"+info.id)
}

// requeue republishes the desired state pick chooses from app's history.
func (c *control) requeue(ctx context.Context, app string, info commandInfo, pick func([]historyEntry) *historyEntry) error {
	h, err := c.history(ctx, app)
	if err != nil {
		return err
	}
	target := pick(h)
	if target == nil {
		return rejectf("no desired state of %s in %s", app, subject.StreamDesired)
	}
	return c.republish(ctx, app, target, info, "cmd-"+c.w.opts.Cluster+"-"+info.id)
}

// commandResult is the SyncResult of a command that applied nothing.
func (c *control) commandResult(app, note string, started time.Time) *ferryv1.SyncResult {
	res := &ferryv1.SyncResult{App: app, Cluster: c.w.opts.Cluster, StartedUnixNano: started.UnixNano()}
	if p := c.get(app).Pinned; p != nil {
		res.Revision, res.Digest = p.Revision, p.Digest
	}
	return finish(res, ferryv1.Phase_PHASE_UNSPECIFIED, note)
}
