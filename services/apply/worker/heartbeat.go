package worker

import (
	"context"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// heartbeats puts the worker's heartbeat into the cluster registry now
// and every HeartbeatInterval until ctx is done, then a last one saying
// the worker stopped.
func (c *control) heartbeats(ctx context.Context) {
	t := time.NewTicker(c.w.opts.HeartbeatInterval)
	defer t.Stop()
	c.beat(ctx, false)
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
			c.beat(last, true)
			cancel()
			return
		case <-t.C:
			c.beat(ctx, false)
		}
	}
}

// beat puts one heartbeat. Failures are logged: the next beat retries.
func (c *control) beat(ctx context.Context, stopped bool) {
	log := logging.From(ctx)
	hb := cluster.Heartbeat{
		Cluster: c.w.opts.Cluster, Version: c.w.opts.Version,
		SeenAt: time.Now().UTC(), StartedAt: c.started.UTC(),
		Interval: cluster.Duration(c.w.opts.HeartbeatInterval), Stopped: stopped,
		Apps: c.appStatus(),
	}
	if cons, err := c.w.js.Consumer(ctx, subject.StreamDesired, ConsumerName(c.w.opts.Cluster)); err != nil {
		log.Warn("heartbeat: pending count", "error", err)
	} else {
		info := cons.CachedInfo()
		hb.Pending = info.NumPending + uint64(info.NumAckPending)
	}
	data, err := cluster.Encode(hb)
	if err == nil {
		_, err = c.registry.Put(ctx, c.w.opts.Cluster, data)
	}
	if err != nil && ctx.Err() == nil {
		log.Warn("heartbeat", "error", err)
	}
}

// appStatus is every app the worker applied or holds controls for.
func (c *control) appStatus() map[string]cluster.AppStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	apps := make(map[string]cluster.AppStatus, len(c.applied))
	for app, s := range c.applied {
		apps[app] = s
	}
	for app, ac := range c.controls.Apps {
		s := apps[app]
		if ac.Pinned != nil {
			s.PinnedTo = ac.Pinned.Revision
		}
		s.Suspended = ac.Suspended != nil
		apps[app] = s
	}
	return apps
}

// seedApplied starts from the last applied revisions of the previous
// heartbeat, so a restarted worker still reports them.
func (c *control) seedApplied(ctx context.Context) {
	e, err := c.registry.Get(ctx, c.w.opts.Cluster)
	if err != nil {
		return
	}
	var hb cluster.Heartbeat
	if cluster.Decode(e.Value(), &hb) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for app, s := range hb.Apps {
		if s.Revision != "" {
			c.applied[app] = cluster.AppStatus{Revision: s.Revision, Digest: s.Digest, AppliedAt: s.AppliedAt}
		}
	}
}

// recordApplied notes that revision (with digest) of app was applied
// successfully, for the heartbeat.
func (c *control) recordApplied(app, revision, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied[app] = cluster.AppStatus{Revision: revision, Digest: digest, AppliedAt: time.Now().UTC()}
}

// appliedDigest is the digest last applied for app, empty if unknown.
func (c *control) appliedDigest(app string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied[app].Digest
}

// noteResult is called with every SyncResult before it is published:
// a successful sync becomes the app's last applied revision in the
// heartbeat, and a result of an operator command names the command and
// its requester and is sent to the command's reply subject.
func (w *worker) noteResult(ctx context.Context, res *ferryv1.SyncResult) {
	if w.ctl == nil {
		return
	}
	if res.GetPhase() == ferryv1.Phase_PHASE_SUCCEEDED && res.GetRevision() != "" {
		w.ctl.recordApplied(res.GetApp(), res.GetRevision(), res.GetDigest())
	}
	w.answerCommand(ctx, res)
}

// answerCommand names the operator command ctx works for, if any, and its
// requester in res, and sends res to the command's reply subject: the
// final result, and before it the "applied, awaiting health" one.
func (w *worker) answerCommand(ctx context.Context, res *ferryv1.SyncResult) {
	info, ok := commandFrom(ctx)
	if !ok || w.ctl == nil {
		return
	}
	suffix := " (" + info.verb + " requested by " + who(info.by) + ", command " + info.id + ")"
	if !strings.HasSuffix(res.GetMessage(), suffix) {
		res.Message += suffix
	}
	w.ctl.reply(ctx, info, res)
}

// reply sends res to the command's reply subject; nobody may listen.
func (c *control) reply(ctx context.Context, info commandInfo, res *ferryv1.SyncResult) {
	if !tokenSafe(info.id) {
		return
	}
	msg, err := events.NewMsg(ctx, subject.CommandReply(c.w.opts.Cluster, info.id), res, "")
	if err == nil {
		err = c.nc.PublishMsg(msg)
	}
	if err != nil {
		logging.From(ctx).Warn("reply to command", "command", info.id, "error", err)
	}
}

// tokenSafe reports whether s can be one NATS subject token.
func tokenSafe(s string) bool {
	return s != "" && !strings.ContainsAny(s, ". *>\t\r\n")
}

// buildVersion is the main module's version from the build info.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
