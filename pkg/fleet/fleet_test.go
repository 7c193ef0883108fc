package fleet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// env is an embedded JetStream with Ferry's streams and a Client on it.
type env struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
	c  *Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, nc, js := natstest.JetStream(t)
	c, err := NewClient(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, nc: nc, js: js, c: c}
}

func (e *env) publish(subj string, m proto.Message) {
	e.t.Helper()
	if _, err := events.Publish(e.t.Context(), e.js, subj, m, ""); err != nil {
		e.t.Fatal(err)
	}
}

func desired(cl, app, rev, digest string) *ferryv1.DesiredState {
	return &ferryv1.DesiredState{App: app, Cluster: cl, Namespace: app, Revision: rev, Digest: digest,
		Manifests: []byte("kind: ConfigMap"), Commit: &ferryv1.Commit{Id: rev, Message: "change " + rev, Author: "Ada"}}
}

func result(cl, app, rev, digest string, phase ferryv1.Phase, health ferryv1.Health) *ferryv1.SyncResult {
	return &ferryv1.SyncResult{App: app, Cluster: cl, Revision: rev, Digest: digest, Phase: phase, Health: health,
		Objects: []*ferryv1.ObjectResult{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Namespace: app, Name: "cfg"}, Action: ferryv1.Action_ACTION_CREATED}}}
}

func (e *env) beat(name string, at time.Time, stopped bool) {
	e.t.Helper()
	kv, err := e.js.KeyValue(e.t.Context(), subject.BucketClusters)
	if err != nil {
		e.t.Fatal(err)
	}
	data, _ := cluster.Encode(cluster.Heartbeat{Cluster: name, Version: "v1", SeenAt: at, Interval: cluster.Duration(10 * time.Second), Stopped: stopped})
	if _, err := kv.Put(e.t.Context(), name, data); err != nil {
		e.t.Fatal(err)
	}
}

func TestDeploymentsDeriveState(t *testing.T) {
	e := newEnv(t)
	S, F, SUP := ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_SUPERSEDED
	healthy := ferryv1.Health_HEALTH_HEALTHY
	// synced: desired then its result, then a superseded note that must
	// not hide the judging result.
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "aaaaaaaa1", "sha256:1"))
	e.publish(subject.Status("prod", "web"), result("prod", "web", "aaaaaaaa1", "sha256:1", S, healthy))
	e.publish(subject.Status("prod", "web"), result("prod", "web", "bbbbbbbb2", "sha256:2", SUP, 0))
	// pending: a desired state newer than the result.
	e.publish(subject.Desired("staging", "web"), desired("staging", "web", "aaaaaaaa1", "sha256:1"))
	e.publish(subject.Status("staging", "web"), result("staging", "web", "aaaaaaaa1", "sha256:1", S, healthy))
	e.publish(subject.Desired("staging", "web"), desired("staging", "web", "cccccccc3", "sha256:3"))
	// failed, and drifted after a successful sync.
	e.publish(subject.Desired("prod", "api"), desired("prod", "api", "dddddddd4", "sha256:4"))
	e.publish(subject.Status("prod", "api"), result("prod", "api", "dddddddd4", "sha256:4", F, 0))
	e.publish(subject.Desired("prod", "db"), desired("prod", "db", "eeeeeeee5", "sha256:5"))
	e.publish(subject.Status("prod", "db"), result("prod", "db", "eeeeeeee5", "sha256:5", S, healthy))
	e.publish(subject.Drift("prod", "db"), &ferryv1.DriftEvent{App: "db", Cluster: "prod", Revision: "eeeeeeee5",
		Objects: []*ferryv1.DriftedObject{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Name: "cfg", Namespace: "db"}, ChangedBy: "kubectl-edit"}}})
	// render failed after a good revision.
	e.publish(subject.Desired("prod", "ui"), desired("prod", "ui", "ffffffff6", "sha256:6"))
	e.publish(subject.Status("prod", "ui"), result("prod", "ui", "ffffffff6", "sha256:6", S, healthy))
	e.publish(subject.Status("prod", "ui"), &ferryv1.SyncResult{App: "ui", Cluster: "prod", Revision: "0000000007", Phase: ferryv1.Phase_PHASE_RENDER_FAILED, Message: "bad yaml"})

	got, err := e.c.Deployments(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		sync    Sync
		drifted bool
		rev     string
	}{
		"api/prod": {SyncFailed, false, "dddddddd4"}, "db/prod": {SyncSynced, true, "eeeeeeee5"},
		"ui/prod": {SyncRenderFailed, false, "ffffffff6"}, "web/prod": {SyncSynced, false, "aaaaaaaa1"},
		"web/staging": {SyncPending, false, "aaaaaaaa1"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d deployments, want %d: %+v", len(got), len(want), got)
	}
	var order []string
	for _, d := range got {
		k := d.App + "/" + d.Cluster
		order = append(order, k)
		w := want[k]
		if d.Sync != w.sync || d.Drifted != w.drifted || d.Revision() != w.rev {
			t.Errorf("%s: sync %s drifted %v revision %s, want %s %v %s", k, d.Sync, d.Drifted, d.Revision(), w.sync, w.drifted, w.rev)
		}
		if d.Desired.GetManifests() != nil {
			t.Errorf("%s: manifests not dropped", k)
		}
		if d.TraceID != "" {
			t.Errorf("%s: trace id %q without trace context", k, d.TraceID)
		}
	}
	if strings.Join(order, " ") != "api/prod db/prod ui/prod web/prod web/staging" {
		t.Errorf("order = %v", order)
	}
	only, err := e.c.Deployments(t.Context(), Filter{Cluster: "staging"})
	if err != nil || len(only) != 1 || only[0].Cluster != "staging" {
		t.Errorf("filter by cluster = %+v, %v", only, err)
	}
	for app, want := range map[string]string{"web": "prod staging", "ui": "prod", "nope": ""} {
		if got, err := e.c.ClustersOf(t.Context(), app); err != nil || strings.Join(got, " ") != want {
			t.Errorf("ClustersOf(%s) = %v, %v, want %q", app, got, err, want)
		}
	}
}

func TestDeploymentsEmpty(t *testing.T) {
	e := newEnv(t)
	got, err := e.c.Deployments(t.Context(), Filter{})
	if err != nil || len(got) != 0 {
		t.Fatalf("empty fleet = %v, %v", got, err)
	}
}

func TestHistoryJoinsFinalResults(t *testing.T) {
	e := newEnv(t)
	S := ferryv1.Phase_PHASE_SUCCEEDED
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "aaaaaaaa1", "sha256:1"))
	awaiting := result("prod", "web", "aaaaaaaa1", "sha256:1", S, ferryv1.Health_HEALTH_PROGRESSING)
	awaiting.AwaitingHealth = true
	e.publish(subject.Status("prod", "web"), awaiting)
	e.publish(subject.Status("prod", "web"), result("prod", "web", "aaaaaaaa1", "sha256:1", S, ferryv1.Health_HEALTH_DEGRADED))
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "bbbbbbbb2", "sha256:2"))
	e.publish(subject.Desired("staging", "web"), desired("staging", "web", "bbbbbbbb2", "sha256:2"))
	e.publish(subject.Desired("prod", "other"), desired("prod", "other", "cccccccc3", "sha256:3"))

	h, err := e.c.History(t.Context(), "web", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("history has %d revisions, want 3: %+v", len(h), h)
	}
	if h[0].Cluster != "staging" || h[1].Desired.GetRevision() != "bbbbbbbb2" || h[1].Result != nil {
		t.Errorf("newest first, no result yet: %+v %+v", h[0], h[1])
	}
	if h[2].Result.GetHealth() != ferryv1.Health_HEALTH_DEGRADED || h[2].Desired.GetCommit().GetAuthor() != "Ada" {
		t.Errorf("oldest revision's final result = %v, commit %v", h[2].Result, h[2].Desired.GetCommit())
	}
}

func TestClustersAndWorkerLiveness(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.beat("prod", now, false)
	e.beat("old", now.Add(-5*time.Minute), false)
	e.beat("gone", now, true)
	cs, err := e.c.Clusters(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].Name != "gone" || cs[1].Name != "old" || cs[2].Name != "prod" {
		t.Fatalf("clusters = %+v", cs)
	}
	if cs[0].Alive || cs[1].Alive || !cs[2].Alive {
		t.Errorf("alive = %v %v %v, want false false true", cs[0].Alive, cs[1].Alive, cs[2].Alive)
	}
	if err := e.c.CheckWorker(t.Context(), "prod"); err != nil {
		t.Errorf("live worker: %v", err)
	}
	err = e.c.CheckWorker(t.Context(), "old")
	if !errors.Is(err, ErrNoWorker) || !strings.Contains(err.Error(), "has been seen for 5m") {
		t.Errorf("stale worker: %v", err)
	}
	if err := e.c.CheckWorker(t.Context(), "never"); !errors.Is(err, ErrNoWorker) || !strings.Contains(err.Error(), "ever been seen") {
		t.Errorf("unknown cluster: %v", err)
	}
}

func TestCommandWaitsForTheFinalReply(t *testing.T) {
	e := newEnv(t)
	e.beat("prod", time.Now(), false)
	// The worker's side of the protocol: take the stored command, answer
	// on its reply subject, first awaiting health, then final.
	cons, err := e.js.CreateOrUpdateConsumer(t.Context(), subject.StreamCommands, jetstream.ConsumerConfig{FilterSubject: subject.CommandsForCluster("prod")})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			return
		}
		cmd := &ferryv1.Command{}
		if err := proto.Unmarshal(msg.Data(), cmd); err != nil || msg.Subject() != "ferry.cmd.prod.web.rollback" {
			return
		}
		for _, awaiting := range []bool{true, false} {
			res := result("prod", "web", cmd.GetRevision(), "sha256:1", ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_HEALTHY)
			res.AwaitingHealth = awaiting
			m, _ := events.NewMsg(context.Background(), subject.CommandReply("prod", cmd.GetId()), res, "")
			_ = e.nc.PublishMsg(m)
		}
		_ = msg.Ack()
	}()
	var seen []bool
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	res, err := e.c.Command(ctx, &ferryv1.Command{Cluster: "prod", App: "web", Verb: ferryv1.Verb_VERB_ROLLBACK, Revision: "aaaaaaaa1", RequestedBy: "test"},
		func(r *ferryv1.SyncResult) { seen = append(seen, r.GetAwaitingHealth()) })
	if err != nil {
		t.Fatal(err)
	}
	if res.GetRevision() != "aaaaaaaa1" || len(seen) != 2 || !seen[0] || seen[1] {
		t.Errorf("final %v after progress %v", res, seen)
	}
	// Refused without a live worker, and without a revision to roll back to.
	if _, err := e.c.Command(ctx, &ferryv1.Command{Cluster: "edge", App: "web", Verb: ferryv1.Verb_VERB_SYNC}, nil); !errors.Is(err, ErrNoWorker) {
		t.Errorf("command to a cluster without worker: %v", err)
	}
	if _, err := e.c.Command(ctx, &ferryv1.Command{Cluster: "prod", App: "web", Verb: ferryv1.Verb_VERB_ROLLBACK}, nil); err == nil {
		t.Error("rollback without a revision was sent")
	}
}

func TestFollowDeliversNewEventsInOrder(t *testing.T) {
	e := newEnv(t)
	e.publish(subject.Status("prod", "web"), result("prod", "web", "old", "", ferryv1.Phase_PHASE_SUCCEEDED, 0))
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := e.c.Follow(ctx, Filter{App: "web"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(subject.Desired("prod", "other"), desired("prod", "other", "xxxxxxxx0", "sha256:0"))
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "aaaaaaaa1", "sha256:1"))
	e.publish(subject.Status("prod", "web"), result("prod", "web", "aaaaaaaa1", "sha256:1", ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_HEALTHY))
	byKind := map[string]string{}
	timeout := time.After(10 * time.Second)
	for len(byKind) < 2 {
		select {
		case ev := <-ch:
			if _, dup := byKind[ev.Kind]; dup {
				t.Fatalf("second %s event %q (an old or filtered one?)", ev.Kind, ev.Summary())
			}
			byKind[ev.Kind] = ev.Summary()
		case <-timeout:
			t.Fatalf("got only %q", byKind)
		}
	}
	// Events of different streams may interleave; each line stands alone.
	if d := byKind[KindDesired]; !strings.HasPrefix(d, "desired  prod/web aaaaaaa rendered") || !strings.Contains(d, `"change aaaaaaaa1" by Ada`) {
		t.Errorf("desired line = %q", d)
	}
	if s := byKind[KindStatus]; s != "status   prod/web aaaaaaa succeeded, healthy (1 created)" {
		t.Errorf("status line = %q", s)
	}
	cancel()
	for range ch { // closes once ctx is done
	}
}

func TestDeploymentsCarryControls(t *testing.T) {
	e := newEnv(t)
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "aaaaaaaa1", "sha256:1"))
	e.publish(subject.Desired("staging", "web"), desired("staging", "web", "aaaaaaaa1", "sha256:1"))
	kv, err := e.js.KeyValue(t.Context(), subject.BucketAppState)
	if err != nil {
		t.Fatal(err)
	}
	for cl, ctl := range map[string]cluster.AppControl{
		"prod":    {Pinned: &cluster.Pin{Revision: "aaaaaaaa1"}},
		"staging": {Suspended: &cluster.Hold{By: "ada"}},
	} {
		data, _ := cluster.Encode(cluster.Controls{Apps: map[string]cluster.AppControl{"web": ctl}})
		if _, err := kv.Put(t.Context(), cl, data); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.c.Deployments(t.Context(), Filter{})
	if err != nil || len(all) != 2 || all[0].Control.Pinned == nil || all[1].Control.Suspended == nil {
		t.Errorf("every cluster's controls = %+v, %v", all, err)
	}
	for cl, pinned := range map[string]bool{"prod": true, "staging": false} {
		one, err := e.c.Deployments(t.Context(), Filter{Cluster: cl})
		if err != nil || len(one) != 1 || (one[0].Control.Pinned != nil) != pinned || (one[0].Control.Suspended != nil) == pinned {
			t.Errorf("%s's controls = %+v, %v", cl, one, err)
		}
	}
	if _, err := e.c.Deployments(t.Context(), Filter{Cluster: "edge"}); err != nil {
		t.Errorf("a cluster without controls: %v", err)
	}
}

func TestEventsReadsWhatIsStored(t *testing.T) {
	e := newEnv(t)
	if evs, err := e.c.Events(t.Context(), Filter{}, time.Time{}); err != nil || len(evs) != 0 {
		t.Fatalf("no events stored: %v, %v", evs, err)
	}
	e.publish(subject.Desired("prod", "web"), desired("prod", "web", "aaaaaaaa1", "sha256:1"))
	e.publish(subject.Desired("prod", "other"), desired("prod", "other", "bbbbbbbb2", "sha256:2"))
	e.publish(subject.Status("prod", "web"), result("prod", "web", "aaaaaaaa1", "sha256:1", ferryv1.Phase_PHASE_SUCCEEDED, 0))
	evs, err := e.c.Events(t.Context(), Filter{App: "web"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != KindDesired || evs[1].Kind != KindStatus || evs[0].App != "web" {
		t.Fatalf("events of web = %+v", evs)
	}
	if evs, err := e.c.Events(t.Context(), Filter{}, time.Now().Add(time.Hour)); err != nil || len(evs) != 0 {
		t.Errorf("events since an hour ahead: %v, %v", evs, err)
	}
	// The short-lived consumers are gone once the read is done.
	for _, st := range []string{subject.StreamDesired, subject.StreamStatus} {
		s, err := e.js.Stream(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := s.Info(t.Context()); err != nil || info.State.Consumers != 0 {
			t.Errorf("%s keeps %d consumers (%v)", st, info.State.Consumers, err)
		}
	}
}
