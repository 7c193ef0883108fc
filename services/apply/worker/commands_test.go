package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// stateApp is a Namespace and a ConfigMap whose data names the revision,
// so a test reads from the cluster which revision is live.
func stateApp(ns, rev string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: state
data:
  revision: %[2]s
`, ns, rev)
}

// startCommandWorker starts a worker with opts and waits until its
// command consumer exists too (it starts with new commands only).
func (e *env) startCommandWorker(opts Options) (stop func()) {
	e.t.Helper()
	stop = e.startWorkerWith(nil, opts)
	cl := opts.Cluster
	if cl == "" {
		cl = testCluster
	}
	e.eventually("command consumer created", 10*time.Second, func() error {
		_, err := e.js.Consumer(e.t.Context(), subject.StreamCommands, subject.CommandConsumer(cl))
		return err
	})
	return stop
}

// publishRendered publishes the state app at rev as render would for a
// push received at receivedAt.
func (e *env) publishRendered(app, ns, rev string, receivedAt time.Time) {
	e.t.Helper()
	ds := &ferryv1.DesiredState{
		App: app, Cluster: testCluster, Namespace: ns, Revision: rev, PushId: "push-" + rev,
		Sync: &ferryv1.SyncPolicy{Automated: true}, ReceivedUnixNano: receivedAt.UnixNano(),
		RenderedUnixNano: time.Now().UnixNano(),
	}
	if err := bundle.Attach(e.t.Context(), e.js, ds, stateApp(ns, rev)); err != nil {
		e.t.Fatal(err)
	}
	if _, err := events.Publish(e.t.Context(), e.js, subject.Desired(testCluster, app), ds, ""); err != nil {
		e.t.Fatal(err)
	}
}

// command publishes an operator command to the stream and returns the
// channel its reply arrives on.
func (e *env) command(app string, verb ferryv1.Verb, rev, by string) <-chan *ferryv1.SyncResult {
	e.t.Helper()
	cmd := &ferryv1.Command{
		Id: nuid.Next(), App: app, Cluster: testCluster, Verb: verb, Revision: rev,
		RequestedBy: by, RequestedUnixNano: time.Now().UnixNano(),
	}
	replies := make(chan *ferryv1.SyncResult, 4)
	sub, err := e.nc.Subscribe(subject.CommandReply(testCluster, cmd.GetId()), func(m *nats.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.Decode(context.Background(), m.Header, m.Data, &r); err == nil {
			replies <- &r
		}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if _, err := events.Publish(e.t.Context(), e.js, subject.Command(testCluster, app, verbTokens[verb]), cmd, cmd.GetId()); err != nil {
		e.t.Fatalf("publish command: %v", err)
	}
	return replies
}

// reply waits for a command's final reply, skipping the "applied,
// awaiting health" one.
func (e *env) reply(replies <-chan *ferryv1.SyncResult) *ferryv1.SyncResult {
	e.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r := <-replies:
			if !r.GetAwaitingHealth() {
				return r
			}
		case <-timeout:
			e.t.Fatalf("no command reply within 30s")
			return nil
		}
	}
}

// resultWhere returns the next result that match accepts, logging the
// ones it skips.
func (e *env) resultWhere(what string, match func(*ferryv1.SyncResult) bool) *ferryv1.SyncResult {
	e.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case r := <-e.results:
			if match(r) {
				return r
			}
			e.t.Logf("skipping result %s %s: %s", r.GetRevision(), r.GetPhase(), r.GetMessage())
		case <-deadline:
			e.t.Fatalf("no result %s within 30s", what)
			return nil
		}
	}
}

// live returns the revision the cluster runs for namespace ns.
func (e *env) live(ns string) string {
	e.t.Helper()
	var cm corev1.ConfigMap
	if err := e.kube.Get(e.t.Context(), client.ObjectKey{Namespace: ns, Name: "state"}, &cm); err != nil {
		e.t.Fatalf("get state configmap: %v", err)
	}
	return cm.Data["revision"]
}

// controls reads the app controls of the test cluster from KV.
func (e *env) controls() cluster.Controls {
	e.t.Helper()
	kv, err := e.js.KeyValue(e.t.Context(), subject.BucketAppState)
	if err != nil {
		e.t.Fatal(err)
	}
	var c cluster.Controls
	entry, err := kv.Get(e.t.Context(), testCluster)
	if err != nil {
		return c
	}
	if err := cluster.Decode(entry.Value(), &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// wantReply fails unless r is for revision in phase and names by.
func wantReply(t *testing.T, r *ferryv1.SyncResult, revision string, phase ferryv1.Phase, by string) {
	t.Helper()
	wantPhase(t, r, revision, phase)
	if !strings.Contains(r.GetMessage(), "requested by "+by) {
		t.Errorf("result message %q does not name the requester %s", r.GetMessage(), by)
	}
}

func TestRollbackPinsUntilUnpinOrNextCommit(t *testing.T) {
	e := newEnv(t)
	stop := e.startCommandWorker(Options{})
	const app, ns = "pinned", "pinned"

	for _, rev := range []string{"r1", "r2", "r3"} {
		e.publishRendered(app, ns, rev, time.Now())
		wantPhase(t, e.result(30*time.Second), rev, ferryv1.Phase_PHASE_SUCCEEDED)
	}
	if got := e.live(ns); got != "r3" {
		t.Fatalf("live %s, want r3", got)
	}

	// Rollback to r1: applied, answered with the requester, and pinned.
	r := e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "r1", "alice"))
	wantReply(t, r, "r1", ferryv1.Phase_PHASE_SUCCEEDED, "alice")
	wantReply(t, e.result(10*time.Second), "r1", ferryv1.Phase_PHASE_SUCCEEDED, "alice")
	if got := e.live(ns); got != "r1" {
		t.Fatalf("live %s after rollback, want r1", got)
	}
	pin := e.controls().Apps[app].Pinned
	if pin == nil || pin.Revision != "r1" || pin.By != "alice" {
		t.Fatalf("pin in KV = %+v, want r1 by alice", pin)
	}

	// A commit pushed before the pin, rendered late, is skipped.
	e.publishRendered(app, ns, "r4", pin.At.Add(-time.Second))
	r = e.result(10 * time.Second)
	wantPhase(t, r, "r4", ferryv1.Phase_PHASE_HELD)
	if !strings.Contains(r.GetMessage(), "pinned to revision r1") {
		t.Errorf("skip message %q does not say the app is pinned", r.GetMessage())
	}
	e.settled()

	// The pin survives a restart.
	stop()
	e.startCommandWorker(Options{})
	e.publishRendered(app, ns, "r5", pin.At.Add(-time.Millisecond))
	wantPhase(t, e.resultWhere("for r5", func(r *ferryv1.SyncResult) bool { return r.GetRevision() == "r5" }), "r5", ferryv1.Phase_PHASE_HELD)
	e.settled()
	if got := e.live(ns); got != "r1" {
		t.Fatalf("live %s after restart, want r1 (pinned)", got)
	}

	// Unpin applies the newest rendered revision.
	r = e.reply(e.command(app, ferryv1.Verb_VERB_UNPIN, "", "bob"))
	wantReply(t, r, "r5", ferryv1.Phase_PHASE_SUCCEEDED, "bob")
	if got := e.live(ns); got != "r5" {
		t.Fatalf("live %s after unpin, want r5", got)
	}
	if ac := e.controls().Apps[app]; ac.Pinned != nil {
		t.Errorf("still pinned after unpin: %+v", ac.Pinned)
	}

	// Roll back again by an abbreviated revision; the next commit ends the pin.
	e.publishRendered(app, ns, "r6abcdef1234", time.Now())
	wantPhase(t, e.resultWhere("for r6", func(r *ferryv1.SyncResult) bool { return r.GetRevision() == "r6abcdef1234" }), "r6abcdef1234", ferryv1.Phase_PHASE_SUCCEEDED)
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "r2", "carol")), "r2", ferryv1.Phase_PHASE_SUCCEEDED, "carol")
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "r6abcde", "carol")), "r6abcdef1234", ferryv1.Phase_PHASE_SUCCEEDED, "carol")
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "r2", "carol")), "r2", ferryv1.Phase_PHASE_SUCCEEDED, "carol")
	e.publishRendered(app, ns, "r7", time.Now())
	wantPhase(t, e.resultWhere("for r7", func(r *ferryv1.SyncResult) bool { return r.GetRevision() == "r7" }), "r7", ferryv1.Phase_PHASE_SUCCEEDED)
	if got := e.live(ns); got != "r7" {
		t.Fatalf("live %s after the next commit, want r7", got)
	}
	if ac := e.controls().Apps[app]; ac.Pinned != nil {
		t.Errorf("still pinned after a newer commit: %+v", ac.Pinned)
	}

	// A revision no longer (or never) in the history is rejected, changing nothing.
	r = e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "nope", "dave"))
	if r.GetPhase() != ferryv1.Phase_PHASE_UNSPECIFIED || !strings.Contains(r.GetMessage(), "rejected") || !strings.Contains(r.GetMessage(), "dave") {
		t.Errorf("unknown revision: phase %s message %q, want a rejection naming dave", r.GetPhase(), r.GetMessage())
	}
	if got := e.live(ns); got != "r7" {
		t.Errorf("live %s after a rejected rollback, want r7", got)
	}
}

func TestRollbackWinsOverRevisionsRenderedBeforeIt(t *testing.T) {
	e := newEnv(t)
	e.startCommandWorker(Options{})
	const app, ns = "race", "race"

	e.publishRendered(app, ns, "p1", time.Now())
	wantPhase(t, e.result(30*time.Second), "p1", ferryv1.Phase_PHASE_SUCCEEDED)

	// A burst pushed before the rollback, some rendered after it: each is
	// either applied before the rollback or skipped, none after it.
	pushed := time.Now()
	for i := 2; i <= 4; i++ {
		e.publishRendered(app, ns, fmt.Sprintf("p%d", i), pushed)
	}
	replies := e.command(app, ferryv1.Verb_VERB_ROLLBACK, "p1", "erin")
	for i := 5; i <= 7; i++ {
		e.publishRendered(app, ns, fmt.Sprintf("p%d", i), pushed)
	}
	r := e.reply(replies)
	if r.GetRevision() != "p1" || !strings.Contains(r.GetMessage(), "requested by erin") {
		t.Fatalf("rollback reply: %s %s %q", r.GetRevision(), r.GetPhase(), r.GetMessage())
	}
	e.eventually("p1 live and settled", 30*time.Second, func() error {
		info := e.consumerInfo()
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("pending %d, ack pending %d", info.NumPending, info.NumAckPending)
		}
		if got := e.live(ns); got != "p1" {
			return fmt.Errorf("live %s", got)
		}
		return nil
	})
	skipped := 0
	for {
		select {
		case r := <-e.results:
			if p := r.GetPhase(); p == ferryv1.Phase_PHASE_SUPERSEDED || p == ferryv1.Phase_PHASE_HELD {
				skipped++
			}
			t.Logf("result %s %s: %s", r.GetRevision(), r.GetPhase(), r.GetMessage())
			continue
		case <-time.After(time.Second):
		}
		break
	}
	if skipped == 0 {
		t.Errorf("no revision was skipped")
	}
	if got := e.live(ns); got != "p1" {
		t.Errorf("live %s, want p1", got)
	}
}

func TestSuspendResumeAndSyncNow(t *testing.T) {
	e := newEnv(t)
	e.startCommandWorker(Options{})
	const app, ns = "paused", "paused"

	e.publishRendered(app, ns, "s1", time.Now())
	wantPhase(t, e.result(30*time.Second), "s1", ferryv1.Phase_PHASE_SUCCEEDED)

	r := e.reply(e.command(app, ferryv1.Verb_VERB_SUSPEND, "", "frank"))
	if r.GetPhase() != ferryv1.Phase_PHASE_UNSPECIFIED || !strings.Contains(r.GetMessage(), "suspended") || !strings.Contains(r.GetMessage(), "frank") {
		t.Fatalf("suspend reply: %s %q", r.GetPhase(), r.GetMessage())
	}
	e.result(5 * time.Second) // the same result on the status stream

	e.publishRendered(app, ns, "s2", time.Now())
	r = e.result(10 * time.Second)
	wantPhase(t, r, "s2", ferryv1.Phase_PHASE_HELD)
	if !strings.Contains(r.GetMessage(), "suspended by frank") {
		t.Errorf("skip message %q", r.GetMessage())
	}
	e.settled()
	if got := e.live(ns); got != "s1" {
		t.Fatalf("live %s while suspended, want s1", got)
	}

	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_RESUME, "", "grace")), "s2", ferryv1.Phase_PHASE_SUCCEEDED, "grace")
	if got := e.live(ns); got != "s2" {
		t.Fatalf("live %s after resume, want s2", got)
	}
	if ac, ok := e.controls().Apps[app]; ok {
		t.Errorf("controls after resume = %+v, want none", ac)
	}

	// Sync now re-applies the unchanged revision for its requester.
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_SYNC, "", "heidi")), "s2", ferryv1.Phase_PHASE_SUCCEEDED, "heidi")
}
