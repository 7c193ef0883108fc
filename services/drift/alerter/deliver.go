package alerter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/incident"
	"github.com/ferrycd/ferry/services/drift/notify"
	"github.com/ferrycd/ferry/services/drift/repourl"
)

// deliverer sends an app's outbox, one action at a time.
type deliverer struct {
	cfg       *config.Config
	notifiers map[string]notify.Notifier
	throttle  *throttle
	now       func() time.Time
}

// step is the outcome of delivering one action.
type step struct {
	// done: the action left the outbox (sent, or dropped for good).
	done bool
	// retry: keep the action and redeliver the message after wait.
	retry bool
	wait  time.Duration
}

// deliver sends the first action of st's outbox and records the result in
// st. It never logs message contents or secrets.
func (d *deliverer) deliver(ctx context.Context, log *slog.Logger, st *incident.State) step {
	a := st.Outbox[0]
	log = log.With("incident", a.Incident, "route", a.Route, "op", string(a.Op))
	inc := st.Incident(a.Incident)
	n := d.notifiers[a.Route]
	if inc == nil || n == nil {
		log.Warn("dropping alert: incident or route no longer exists")
		st.Done(a.ID)
		return step{done: true}
	}
	if inc.Routes[a.Route] == nil {
		inc.Routes[a.Route] = &incident.Delivery{}
	}
	dl := inc.Routes[a.Route]
	now := d.now()
	appKey := st.Cluster + "/" + st.App
	ok, wait := d.throttle.take(appKey, now)
	switch {
	case ok || a.Op == incident.OpResolve:
	case a.Op.Repeat():
		log.Debug("repeat throttled; the next update carries it")
		st.Done(a.ID)
		return step{done: true}
	default:
		log.Info("alert throttled, waiting", "wait", wait)
		return step{retry: true, wait: wait}
	}
	subj := notify.Subject{Cluster: st.Cluster, App: st.App, CommitURL: d.commitURL(inc)}
	threads := false
	if t, ok := n.(notify.Threaded); ok {
		threads = t.Threads()
	}
	err := d.send(ctx, n, threads, subj, inc, dl, a)
	if err == nil {
		log.Info("alert sent", "kind", string(inc.Kind), "count", inc.Count)
		st.Done(a.ID)
		return step{done: true}
	}
	if ok {
		d.throttle.refund(appKey)
	}
	f := notify.Classify(err)
	if !f.Retry {
		log.Error("dropping alert Slack refused", "error", err)
		st.Done(a.ID)
		return step{done: true}
	}
	if f.Uncertain && !st.Outbox[0].Uncertain {
		st.Outbox[0].Uncertain, st.Outbox[0].AttemptAt = true, now
	}
	log.Warn("alert not delivered, will retry", "error", err, "retry_after", f.After)
	return step{retry: true, wait: f.After}
}

// send performs the Slack calls of one action and updates dl.
func (d *deliverer) send(ctx context.Context, n notify.Notifier, threads bool, subj notify.Subject,
	inc *incident.Incident, dl *incident.Delivery, a incident.Action) error {
	now := d.now()
	switch {
	case a.Op == incident.OpUpdate:
		if !threads || dl.TS == "" {
			return nil
		}
		m := notify.Render(subj, inc, incident.OpUpdate)
		m.UpdateTS = dl.TS
		_, err := n.Notify(ctx, m)
		return err
	case a.Op == incident.OpResolve && threads && dl.TS != "":
		// Mark the first message resolved, then say so in its thread.
		m := notify.Render(subj, inc, incident.OpUpdate)
		m.UpdateTS = dl.TS
		if _, err := n.Notify(ctx, m); err != nil {
			return err
		}
		return d.post(ctx, n, subj, inc, dl, a, dl.TS)
	case a.Op == incident.OpReply:
		if !threads || dl.TS == "" {
			return nil
		}
		if err := d.post(ctx, n, subj, inc, dl, a, dl.TS); err != nil {
			return err
		}
		dl.LastNotified = now
		return nil
	}
	// open, notice, reminder, and resolve without a thread: a new message.
	if err := d.post(ctx, n, subj, inc, dl, a, ""); err != nil {
		return err
	}
	dl.LastNotified = now
	return nil
}

// post sends a new message (in thread when set). When an earlier attempt's
// outcome was unknown it first looks for that message, so a retry does not
// post twice where Slack lets us check.
func (d *deliverer) post(ctx context.Context, n notify.Notifier, subj notify.Subject,
	inc *incident.Incident, dl *incident.Delivery, a incident.Action, thread string) error {
	m := notify.Render(subj, inc, a.Op)
	m.ThreadTS, m.Tag = thread, a.Key()
	var rc notify.Receipt
	found := false
	if f, ok := n.(notify.Finder); ok && a.Uncertain {
		var err error
		if rc, found, err = f.Find(ctx, m.Tag, thread, a.AttemptAt); err != nil {
			found = false // cannot check (scope, channel name): post again rather than lose it
		}
	}
	if !found {
		var err error
		if rc, err = n.Notify(ctx, m); err != nil {
			return err
		}
	}
	if a.Op == incident.OpOpen || (a.Op == incident.OpNotice && thread == "") {
		dl.Channel, dl.TS, dl.Posted = rc.Channel, rc.TS, true
	}
	return nil
}

func (d *deliverer) commitURL(inc *incident.Incident) string {
	gitlab := false
	if r, ok := d.cfg.CommitStatus.RepoFor(inc.RepoURL); ok {
		gitlab = r.Provider == config.ProviderGitLab
	}
	return repourl.CommitURL(inc.RepoURL, inc.Revision, gitlab)
}

// newNotifiers builds one notifier per route.
func newNotifiers(cfg *config.Config) (map[string]notify.Notifier, error) {
	out := map[string]notify.Notifier{}
	for _, r := range cfg.Routes {
		n, err := notify.New(r, nil)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Name, err)
		}
		out[r.Name] = n
	}
	return out, nil
}
