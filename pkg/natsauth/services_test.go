package natsauth

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const traceID = "0af7651916cd43dd8448eb211c80319c"

// central is a running server with every central identity and a worker
// for cluster "a", the streams set up by render.
type central struct {
	set *Set
	url string
	by  map[string]*conn
}

func startCentral(t *testing.T) *central {
	t.Helper()
	set, err := NewSet("a")
	if err != nil {
		t.Fatal(err)
	}
	srv := StartForTest(t, set)
	c := &central{set: set, url: srv.ClientURL(), by: map[string]*conn{}}
	for _, name := range Services {
		c.by[name] = connect(t, c.url, set.Services[name])
	}
	c.by["worker"] = connect(t, c.url, set.Workers["a"])
	if err := stream.Ensure(t.Context(), c.by[Render].js, stream.Options{Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("render sets up the streams: %v", err)
	}
	return c
}

// corePublish publishes subj without JetStream: the server reports a
// denial asynchronously, which ExpectDenied checks.
func corePublish(c *conn, subj string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := c.nc.Publish(subj, nil); err != nil {
			return err
		}
		if err := c.nc.FlushWithContext(ctx); err != nil {
			return err
		}
		return errors.New("published; the server reports the denial on its own")
	}
}

// kvPut puts key into bucket as c.
func kvPut(c *conn, bucket, key string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		kv, err := c.js.KeyValue(ctx, bucket)
		if err != nil {
			return err
		}
		_, err = kv.Put(ctx, key, []byte(`{}`))
		return err
	}
}

// deniedEverywhere are operations no central identity may do.
func deniedEverywhere(t *testing.T, c *conn) {
	t.Helper()
	c.denied(t, "delete a stream", jsAPI+"STREAM.DELETE."+subject.StreamDesired, func(ctx context.Context) error {
		return c.js.DeleteStream(ctx, subject.StreamDesired)
	})
	c.denied(t, "purge a stream", jsAPI+"STREAM.PURGE."+subject.StreamGit, func(ctx context.Context) error {
		_, err := c.nc.RequestWithContext(ctx, jsAPI+"STREAM.PURGE."+subject.StreamGit, nil)
		return err
	})
	c.denied(t, "pose as a worker", subject.Drift("a", "web"), corePublish(c, subject.Drift("a", "web")))
	c.denied(t, "read the inbox of another identity", "_INBOX.>", func(context.Context) error { return c.subscribe("_INBOX.>") })
	c.denied(t, "spans as a worker", subject.Span(traceID, subject.WorkerSpanOrigin("a")), corePublish(c, subject.Span(traceID, subject.WorkerSpanOrigin("a"))))
}

func TestIngestPublishesPushesOnly(t *testing.T) {
	c := startCentral(t)
	in := c.by[Ingest]
	ctx := t.Context()
	if _, err := in.js.Stream(ctx, subject.StreamGit); err != nil {
		t.Errorf("wait for FERRY_GIT: %v", err)
	}
	if _, err := events.Publish(ctx, in.js, subject.GitPush("k1"), &ferryv1.PushEvent{Id: "p1"}, "github:p1"); err != nil {
		t.Errorf("publish a push: %v", err)
	}
	if err := in.nc.Publish(subject.Span(traceID, SpanOrigin(Ingest)), nil); err != nil {
		t.Error(err)
	}
	_ = in.nc.Flush()
	in.quiet(t)

	in.denied(t, "publish desired state", subject.Desired("a", "web"), func(ctx context.Context) error {
		_, err := events.Publish(ctx, in.js, subject.Desired("a", "web"), &ferryv1.DesiredState{App: "web"}, "")
		return err
	})
	in.denied(t, "write the app registry", "$JS.API.STREAM.INFO.KV_"+subject.BucketApps, kvPut(in, subject.BucketApps, "web"))
	in.denied(t, "send a command", subject.Command("a", "web", subject.VerbSync), corePublish(in, subject.Command("a", "web", subject.VerbSync)))
	in.denied(t, "create a stream", jsAPI+"STREAM.CREATE.SNEAK", func(ctx context.Context) error {
		_, err := in.js.CreateStream(ctx, jetstream.StreamConfig{Name: "SNEAK", Subjects: []string{"sneak.>"}})
		return err
	})
	in.denied(t, "read pushes back", jsAPI+"CONSUMER.CREATE."+subject.StreamGit+".sneak."+subject.AllGit, func(ctx context.Context) error {
		_, err := in.js.CreateConsumer(ctx, subject.StreamGit, jetstream.ConsumerConfig{Name: "sneak", FilterSubject: subject.AllGit})
		return err
	})
	in.denied(t, "spans as render", subject.Span(traceID, SpanOrigin(Render)), corePublish(in, subject.Span(traceID, SpanOrigin(Render))))
	deniedEverywhere(t, in)
}

func TestRenderSetsUpAndPublishesDesiredState(t *testing.T) {
	c := startCentral(t)
	r := c.by[Render]
	ctx := t.Context()
	if _, err := events.Publish(ctx, c.by[Ingest].js, subject.GitPush("k1"), &ferryv1.PushEvent{Id: "p1"}, ""); err != nil {
		t.Fatal(err)
	}
	cons, err := stream.Durable(ctx, r.js, subject.StreamGit, jetstream.ConsumerConfig{
		Durable: subject.ConsumerRender, FilterSubject: subject.AllGit, MaxDeliver: -1,
	})
	if err != nil {
		t.Fatalf("its durable on FERRY_GIT: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		if err := m.Ack(); err != nil {
			t.Errorf("ack a push: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("fetched %d pushes, want 1 (%v)", n, batch.Error())
	}
	kv, err := r.js.KeyValue(ctx, subject.BucketApps)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		t.Fatalf("watch the app registry: %v", err)
	}
	defer func() { _ = w.Stop() }()
	if _, err := kv.Put(ctx, "web", []byte(`{}`)); err != nil {
		t.Errorf("put an app: %v", err)
	}
	if err := kv.Delete(ctx, "web"); err != nil {
		t.Errorf("delete an app: %v", err)
	}
	big := bytes.Repeat([]byte("# padding past the inline limit\n"), bundle.InlineLimit/30)
	ds := &ferryv1.DesiredState{App: "web", Cluster: "a", Revision: "r1"}
	if err := bundle.Attach(ctx, r.js, ds, big); err != nil || ds.GetBundle() == "" {
		t.Errorf("store a large bundle: %v", err)
	}
	if err := bundle.Attach(ctx, r.js, ds, big); err != nil {
		t.Errorf("store the same bundle again: %v", err)
	}
	if _, err := events.Publish(ctx, r.js, subject.Desired("a", "web"), ds, ""); err != nil {
		t.Errorf("publish desired state: %v", err)
	}
	desired, err := r.js.Stream(ctx, subject.StreamDesired)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desired.GetLastMsgForSubject(ctx, subject.Desired("a", "web")); err != nil {
		t.Errorf("newest desired state: %v", err)
	}
	if _, err := events.Publish(ctx, r.js, subject.Status("a", "web"), &ferryv1.SyncResult{App: "web"}, ""); err != nil {
		t.Errorf("publish a render failure: %v", err)
	}
	if _, err := r.js.Publish(ctx, subject.Registry("k1"), nil); err != nil {
		t.Errorf("publish a registry outcome: %v", err)
	}
	if err := r.nc.Publish(subject.Span(traceID, SpanOrigin(Render)), nil); err != nil {
		t.Error(err)
	}
	_ = r.nc.Flush()
	r.quiet(t)

	r.denied(t, "send a command", subject.Command("a", "web", subject.VerbSync), corePublish(r, subject.Command("a", "web", subject.VerbSync)))
	r.denied(t, "publish drift", subject.Drift("a", "web"), corePublish(r, subject.Drift("a", "web")))
	r.denied(t, "put a heartbeat", "$KV."+subject.BucketClusters+".a", kvPut(r, subject.BucketClusters, "a"))
	r.denied(t, "consume desired state", jsAPI+"CONSUMER.CREATE."+subject.StreamDesired+".sneak."+subject.AllDesired, func(ctx context.Context) error {
		_, err := r.js.CreateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{Name: "sneak", FilterSubject: subject.AllDesired})
		return err
	})
	deniedEverywhere(t, r)
}

func TestDriftConsumesResultsAndKeepsItsBuckets(t *testing.T) {
	c := startCentral(t)
	d := c.by[Drift]
	ctx := t.Context()
	for _, cc := range []struct{ stream, name, filter string }{
		{subject.StreamStatus, subject.ConsumerDrift, subject.AllStatus},
		{subject.StreamDrift, subject.ConsumerDrift, subject.AllDrift},
		{subject.StreamDesired, subject.ConsumerDriftCommitStatus, subject.AllDesired},
		{subject.StreamStatus, subject.ConsumerDriftCommitStatus, subject.AllStatus},
	} {
		cons, err := stream.Durable(ctx, d.js, cc.stream, jetstream.ConsumerConfig{
			Durable: cc.name, FilterSubject: cc.filter, DeliverPolicy: jetstream.DeliverNewPolicy,
		})
		if err != nil {
			t.Fatalf("durable %s on %s: %v", cc.name, cc.stream, err)
		}
		if _, err := cons.Info(ctx); err != nil {
			t.Errorf("consumer info: %v", err)
		}
	}
	if _, err := c.by["worker"].js.Publish(ctx, subject.Status("a", "web"), nil); err != nil {
		t.Fatal(err)
	}
	cons, err := d.js.Consumer(ctx, subject.StreamStatus, subject.ConsumerDrift)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.Ack(); err != nil {
			t.Errorf("ack a result: %v", err)
		}
	}
	for _, b := range []string{subject.BucketIncidents, subject.BucketCommitStatus} {
		kv, err := d.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b, History: 1, Storage: jetstream.MemoryStorage})
		if err != nil {
			t.Fatalf("create kv %s: %v", b, err)
		}
		rev, err := kv.Create(ctx, "a.web", []byte("1"))
		if err != nil {
			t.Fatalf("create a key in %s: %v", b, err)
		}
		if _, err := kv.Update(ctx, "a.web", []byte("2"), rev); err != nil {
			t.Errorf("update a key in %s: %v", b, err)
		}
		if e, err := kv.Get(ctx, "a.web"); err != nil || string(e.Value()) != "2" {
			t.Errorf("get a key in %s: %v", b, err)
		}
	}
	if err := d.nc.Publish(subject.Span(traceID, SpanOrigin(Drift)), nil); err != nil {
		t.Error(err)
	}
	_ = d.nc.Flush()
	d.quiet(t)

	d.denied(t, "publish desired state", subject.Desired("a", "web"), corePublish(d, subject.Desired("a", "web")))
	d.denied(t, "write the app registry", "$KV."+subject.BucketApps+".web", corePublish(d, "$KV."+subject.BucketApps+".web"))
	d.denied(t, "create a stream", jsAPI+"STREAM.CREATE."+subject.StreamGit, func(ctx context.Context) error {
		_, err := d.js.CreateStream(ctx, jetstream.StreamConfig{Name: subject.StreamGit, Subjects: []string{subject.AllGit}})
		return err
	})
	d.denied(t, "send a command", subject.Command("a", "web", subject.VerbSync), corePublish(d, subject.Command("a", "web", subject.VerbSync)))
	deniedEverywhere(t, d)
}

// heartbeat puts a fresh heartbeat of worker a, as the worker.
func heartbeat(t *testing.T, c *central) {
	t.Helper()
	data, err := cluster.Encode(cluster.Heartbeat{Cluster: "a", Version: "v1", SeenAt: time.Now(), Interval: cluster.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := c.by["worker"].js.KeyValue(t.Context(), subject.BucketClusters)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "a", data); err != nil {
		t.Fatal(err)
	}
}

// reads does what the CLI and the dashboard read, as c.
func reads(t *testing.T, c *central, op *conn) {
	t.Helper()
	ctx := t.Context()
	w := c.by["worker"]
	if _, err := events.Publish(ctx, c.by[Render].js, subject.Desired("a", "web"), &ferryv1.DesiredState{App: "web", Cluster: "a", Revision: "r1"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(ctx, w.js, subject.Status("a", "web"), &ferryv1.SyncResult{App: "web", Cluster: "a", Revision: "r1"}, ""); err != nil {
		t.Fatal(err)
	}
	heartbeat(t, c)
	sub, err := w.nc.QueueSubscribe(subject.QueriesForCluster("a"), subject.ApplyConsumer("a"), func(m *nats.Msg) {
		data, _ := proto.Marshal(&ferryv1.DiffResponse{App: "web"})
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = w.nc.Flush()

	fc, err := fleet.NewClient(op.nc)
	if err != nil {
		t.Fatal(err)
	}
	if deps, err := fc.Deployments(ctx, fleet.Filter{}); err != nil || len(deps) != 1 {
		t.Errorf("deployments: %d, %v", len(deps), err)
	}
	if revs, err := fc.History(ctx, "web", fleet.Filter{Cluster: "a"}); err != nil || len(revs) == 0 {
		t.Errorf("history: %d, %v", len(revs), err)
	}
	if evs, err := fc.Events(ctx, fleet.Filter{}, time.Time{}); err != nil || len(evs) < 2 {
		t.Errorf("events: %d, %v", len(evs), err)
	}
	fctx, cancel := context.WithCancel(ctx)
	if _, err := fc.Follow(fctx, fleet.Filter{}, time.Now().Add(-time.Hour)); err != nil {
		t.Errorf("follow: %v", err)
	}
	cancel()
	if cls, err := fc.Clusters(ctx); err != nil || len(cls) != 1 {
		t.Errorf("clusters: %d, %v", len(cls), err)
	}
	if _, _, err := fc.Trace(ctx, traceID); err != nil && !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("trace: %v", err)
	}
	if res, err := fc.Diff(ctx, "a", "web"); err != nil || res.GetApp() != "web" {
		t.Errorf("diff: %v", err)
	}
	apps, err := op.js.KeyValue(ctx, subject.BucketApps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apps.Get(ctx, "web"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("read the app registry: %v", err)
	}
	_ = op.nc.Flush()
	op.quiet(t)
}

func TestOperatorReadOnlyReads(t *testing.T) {
	c := startCentral(t)
	op := c.by[OperatorRead]
	reads(t, c, op)

	op.denied(t, "send a command", subject.Command("a", "web", subject.VerbSync), func(ctx context.Context) error {
		fc, err := fleet.NewClient(op.nc)
		if err != nil {
			return err
		}
		_, err = fc.Command(ctx, &ferryv1.Command{App: "web", Cluster: "a", Verb: ferryv1.Verb_VERB_SYNC}, nil)
		return err
	})
	op.denied(t, "publish a command", subject.Command("a", "web", subject.VerbSync), corePublish(op, subject.Command("a", "web", subject.VerbSync)))
	op.denied(t, "read command replies", subject.CommandRepliesForCluster("*"), func(context.Context) error {
		return op.subscribe(subject.CommandRepliesForCluster("*"))
	})
	op.denied(t, "suspend through the app state", "$KV."+subject.BucketAppState+".a", corePublish(op, "$KV."+subject.BucketAppState+".a"))
	op.denied(t, "publish desired state", subject.Desired("a", "web"), corePublish(op, subject.Desired("a", "web")))
	op.denied(t, "read a bundle store", jsAPI+"STREAM.INFO.OBJ_"+subject.Bundles("a"), func(ctx context.Context) error {
		_, err := op.js.ObjectStore(ctx, subject.Bundles("a"))
		return err
	})
	op.denied(t, "publish spans", subject.Span(traceID, "ferry-cli"), corePublish(op, subject.Span(traceID, "ferry-cli")))
	op.denied(t, "delete render's durable", jsAPI+"CONSUMER.DELETE."+subject.StreamGit+"."+subject.ConsumerRender, func(ctx context.Context) error {
		return op.js.DeleteConsumer(ctx, subject.StreamGit, subject.ConsumerRender)
	})
	op.denied(t, "take over drift's durable", jsAPI+"CONSUMER.CREATE."+subject.StreamStatus+"."+subject.ConsumerDrift+"."+subject.AllStatus, func(ctx context.Context) error {
		_, err := op.js.CreateOrUpdateConsumer(ctx, subject.StreamStatus, jetstream.ConsumerConfig{Durable: subject.ConsumerDrift, FilterSubject: subject.AllStatus})
		return err
	})
	deniedEverywhere(t, op)
}

func TestOperatorReadsAndCommands(t *testing.T) {
	c := startCentral(t)
	op := c.by[Operator]
	reads(t, c, op)
	ctx := t.Context()

	fc, err := fleet.NewClient(op.nc)
	if err != nil {
		t.Fatal(err)
	}
	// The worker answers the command on its reply subject.
	w := c.by["worker"]
	cons, err := stream.Durable(ctx, w.js, subject.StreamCommands, jetstream.ConsumerConfig{
		Durable: subject.CommandConsumer("a"), FilterSubject: subject.CommandsForCluster("a"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var cmd ferryv1.Command
		if _, err := events.DecodeMsg(ctx, m, &cmd); err == nil {
			msg, _ := events.NewMsg(ctx, subject.CommandReply("a", cmd.GetId()), &ferryv1.SyncResult{App: "web", Cluster: "a"}, "")
			_ = w.nc.PublishMsg(msg)
		}
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if res, err := fc.Command(cctx, &ferryv1.Command{App: "web", Cluster: "a", Verb: ferryv1.Verb_VERB_SYNC}, func(*ferryv1.SyncResult) {}); err != nil || res.GetApp() != "web" {
		t.Errorf("sync command and its reply: %v", err)
	}
	_ = op.nc.Flush()
	op.quiet(t)

	op.denied(t, "suspend through the app state", "$KV."+subject.BucketAppState+".a", corePublish(op, "$KV."+subject.BucketAppState+".a"))
	op.denied(t, "publish desired state", subject.Desired("a", "web"), corePublish(op, subject.Desired("a", "web")))
	op.denied(t, "answer as a worker", subject.CommandReply("a", "x"), corePublish(op, subject.CommandReply("a", "x")))
	deniedEverywhere(t, op)
}
