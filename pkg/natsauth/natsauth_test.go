package natsauth

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// conn is one authenticated connection and the permission violations the
// server reported to it.
type conn struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	violations chan error
}

// connect dials srvURL as u.
func connect(t *testing.T, srvURL string, u *User) *conn {
	t.Helper()
	c := &conn{violations: make(chan error, 64)}
	opts := append(u.ConnectOptions(), nats.Name(u.Name), nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				t.Logf("%s: %v", u.Name, err)
				c.violations <- err
			}
		}))
	nc, err := nats.Connect(srvURL, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", u.Name, err)
	}
	t.Cleanup(nc.Close)
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	c.nc = nc
	return c
}

// denied fails unless the server reports a permissions violation naming
// subj, after op (which must fail too) ran.
func (c *conn) denied(t *testing.T, what, subj string, op func(ctx context.Context) error) {
	t.Helper()
	ExpectDenied(t, c.violations, what, subj, op)
}

// subscribe subscribes to subj and waits for a message or an error.
func (c *conn) subscribe(subj string) error {
	sub, err := c.nc.SubscribeSync(subj)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	_, err = sub.NextMsg(500 * time.Millisecond)
	return err
}

// quiet fails if the server reported any permissions violation.
func (c *conn) quiet(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.violations:
		t.Errorf("unexpected violation: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestWorkerSeesOnlyItsOwnCluster(t *testing.T) {
	set, err := NewSet("a", "b")
	if err != nil {
		t.Fatal(err)
	}
	srv := StartForTest(t, set)
	// Render sets up the streams and publishes desired state.
	admin := connect(t, srv.ClientURL(), set.Services[Render])
	ctx := t.Context()
	if err := stream.Ensure(ctx, admin.js, stream.Options{Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("render ensures streams: %v", err)
	}
	big := bytes.Repeat([]byte("# padding to go past the inline limit\n"), bundle.InlineLimit/30)
	big = append(big, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n")...)
	seqB := uint64(0)
	var dsB *ferryv1.DesiredState
	for _, c := range []string{"a", "b"} {
		ds := &ferryv1.DesiredState{App: "web", Cluster: c, Revision: "r-" + c}
		if err := bundle.Attach(ctx, admin.js, ds, append([]byte("# "+c+"\n"), big...)); err != nil {
			t.Fatal(err)
		}
		if ds.GetBundle() == "" {
			t.Fatal("test bundle was not large enough for the object store")
		}
		dsB = ds
		ack, err := events.Publish(ctx, admin.js, subject.Desired(c, "web"), ds, "")
		if err != nil {
			t.Fatal(err)
		}
		seqB = ack.Sequence
	}
	// Cluster b's worker has its durable consumer, as it would when running.
	if _, err := stream.Durable(ctx, connect(t, srv.ClientURL(), set.Workers["b"]).js, subject.StreamDesired, jetstream.ConsumerConfig{
		Durable: subject.ApplyConsumer("b"), FilterSubject: subject.DesiredForCluster("b"),
	}); err != nil {
		t.Fatal(err)
	}

	wa, err := set.Worker("a")
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, srv.ClientURL(), wa)

	t.Run("allowed", func(t *testing.T) {
		cons, err := stream.Durable(ctx, a.js, subject.StreamDesired, jetstream.ConsumerConfig{
			Durable: subject.ApplyConsumer("a"), FilterSubject: subject.DesiredForCluster("a"),
		})
		if err != nil {
			t.Fatalf("create own consumer: %v", err)
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		for msg := range batch.Messages() {
			got++
			var ds ferryv1.DesiredState
			if _, err := events.DecodeMsg(ctx, msg, &ds); err != nil || ds.GetRevision() != "r-a" {
				t.Fatalf("own desired state: %v %v", ds.GetRevision(), err)
			}
			data, err := bundle.Load(ctx, a.js, &ds)
			if err != nil || !bytes.HasPrefix(data, []byte("# a\n")) {
				t.Fatalf("load own bundle: %v", err)
			}
			if err := msg.Ack(); err != nil {
				t.Fatal(err)
			}
		}
		if got != 1 || batch.Error() != nil {
			t.Fatalf("fetched %d messages, error %v", got, batch.Error())
		}
		if _, err := cons.Info(ctx); err != nil {
			t.Errorf("own consumer info: %v", err)
		}
		s, err := a.js.Stream(ctx, subject.StreamDesired)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := s.GetLastMsgForSubject(ctx, subject.Desired("a", "web")); err != nil || m.Sequence == 0 {
			t.Errorf("newest own revision: %v", err)
		}
		if _, err := events.Publish(ctx, a.js, subject.Status("a", "web"), &ferryv1.SyncResult{App: "web"}, ""); err != nil {
			t.Errorf("publish own status: %v", err)
		}
		if _, err := a.js.Publish(ctx, subject.Drift("a", "web"), nil); err != nil {
			t.Errorf("publish own drift: %v", err)
		}
		for _, bucket := range []string{subject.BucketClusters, subject.BucketAppState} {
			kv, err := a.js.KeyValue(ctx, bucket)
			if err != nil {
				t.Fatalf("open %s: %v", bucket, err)
			}
			if _, err := kv.Put(ctx, "a", []byte(`{}`)); err != nil {
				t.Errorf("put own key in %s: %v", bucket, err)
			}
		}
		state, _ := a.js.KeyValue(ctx, subject.BucketAppState)
		if e, err := state.Get(ctx, "a"); err != nil || string(e.Value()) != "{}" {
			t.Errorf("get own app state: %v", err)
		}
		hist, err := a.js.CreateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{
			Name: subject.HistoryConsumer("a"), FilterSubject: subject.Desired("a", "web"), AckPolicy: jetstream.AckNonePolicy,
		})
		if err != nil {
			t.Fatalf("history consumer: %v", err)
		}
		if _, err := hist.Fetch(1, jetstream.FetchMaxWait(time.Second)); err != nil {
			t.Errorf("fetch history: %v", err)
		}
		if err := a.js.DeleteConsumer(ctx, subject.StreamDesired, subject.HistoryConsumer("a")); err != nil {
			t.Errorf("delete history consumer: %v", err)
		}
		if _, err := stream.Durable(ctx, a.js, subject.StreamCommands, jetstream.ConsumerConfig{
			Durable: subject.CommandConsumer("a"), FilterSubject: subject.CommandsForCluster("a"),
		}); err != nil {
			t.Errorf("command consumer: %v", err)
		}
		if err := a.nc.Publish(subject.CommandReply("a", "id1"), nil); err != nil {
			t.Errorf("reply: %v", err)
		}
		if err := a.nc.Publish(subject.Span("0af7651916cd43dd8448eb211c80319c", subject.WorkerSpanOrigin("a")), nil); err != nil {
			t.Errorf("publish a span: %v", err)
		}
		// It answers its own cluster's queries (ferry diff), on the
		// reply subject the asker chose.
		sub, err := a.nc.QueueSubscribe(subject.QueriesForCluster("a"), subject.ApplyConsumer("a"), func(m *nats.Msg) {
			_ = m.Respond([]byte("answer from a"))
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		_ = a.nc.Flush()
		reply, err := connect(t, srv.ClientURL(), set.Services[OperatorRead]).nc.Request(subject.Query("a", subject.QueryDiff), []byte("q"), 2*time.Second)
		if err != nil || string(reply.Data) != "answer from a" {
			t.Errorf("query to a's worker: %v %q", err, replyData(reply))
		}
		_ = a.nc.Flush()
		a.quiet(t)
	})

	t.Run("denied", func(t *testing.T) {
		createB := jsAPI + "CONSUMER.CREATE.FERRY_DESIRED.apply-a.ferry.desired.b.>"
		a.denied(t, "consumer on b's desired state", createB, func(ctx context.Context) error {
			_, err := a.js.CreateOrUpdateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{
				Durable: subject.ApplyConsumer("a"), FilterSubject: subject.DesiredForCluster("b"),
			})
			return err
		})
		a.denied(t, "consumer on every desired state", jsAPI+"CONSUMER.CREATE.FERRY_DESIRED.sneak.ferry.desired.>", func(ctx context.Context) error {
			_, err := a.js.CreateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{Name: "sneak", FilterSubject: subject.AllDesired})
			return err
		})
		a.denied(t, "consumer without filter", jsAPI+"CONSUMER.CREATE.FERRY_DESIRED.sneak", func(ctx context.Context) error {
			_, err := a.js.CreateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{Name: "sneak"})
			return err
		})
		a.denied(t, "pull from b's consumer", jsAPI+"CONSUMER.MSG.NEXT.FERRY_DESIRED.apply-b", func(ctx context.Context) error {
			_, err := a.nc.RequestWithContext(ctx, jsAPI+"CONSUMER.MSG.NEXT.FERRY_DESIRED.apply-b", []byte(`{"batch":1}`))
			return err
		})
		a.denied(t, "direct get of b's newest revision", jsAPI+"DIRECT.GET.FERRY_DESIRED.ferry.desired.b.web", func(ctx context.Context) error {
			_, err := a.nc.RequestWithContext(ctx, jsAPI+"DIRECT.GET.FERRY_DESIRED.ferry.desired.b.web", nil)
			return err
		})
		a.denied(t, "stream message get", jsAPI+"STREAM.MSG.GET.FERRY_DESIRED", func(ctx context.Context) error {
			_, err := a.nc.RequestWithContext(ctx, jsAPI+"STREAM.MSG.GET.FERRY_DESIRED", []byte(`{"last_by_subj":"ferry.desired.b.web"}`))
			return err
		})
		a.denied(t, "subscribe to b's desired subjects", subject.DesiredForCluster("b"), func(context.Context) error {
			return a.subscribe(subject.DesiredForCluster("b"))
		})
		a.denied(t, "subscribe to b's inbox", "_INBOX_b.>", func(context.Context) error {
			return a.subscribe("_INBOX_b.>")
		})
		a.denied(t, "subscribe to b's queries", subject.QueriesForCluster("b"), func(context.Context) error {
			return a.subscribe(subject.QueriesForCluster("b"))
		})
		a.denied(t, "answer b's diff queries", subject.Query("b", subject.QueryDiff), func(context.Context) error {
			return a.subscribe(subject.Query("b", subject.QueryDiff))
		})
		a.denied(t, "publish to an inbox it was not asked on", "_INBOX.sneak", func(context.Context) error {
			if err := a.nc.Publish("_INBOX.sneak", nil); err != nil {
				return err
			}
			if err := a.nc.Flush(); err != nil {
				return err
			}
			// A core publish is denied asynchronously: the violation
			// checked next is the proof.
			return errors.New("published; the server reports the denial on its own")
		})
		for what, subj := range map[string]string{
			"publish spans as ingest":      subject.Span("0af7651916cd43dd8448eb211c80319c", "ferry-ingest"),
			"publish spans as b's worker":  subject.Span("0af7651916cd43dd8448eb211c80319c", subject.WorkerSpanOrigin("b")),
			"publish spans without origin": subject.Trace("0af7651916cd43dd8448eb211c80319c"),
		} {
			a.denied(t, what, subj, func(ctx context.Context) error {
				if err := a.nc.Publish(subj, nil); err != nil {
					return err
				}
				if err := a.nc.FlushWithContext(ctx); err != nil {
					return err
				}
				return errors.New("published; the server reports the denial on its own")
			})
		}
		a.denied(t, "publish b's status", subject.Status("b", "web"), func(ctx context.Context) error {
			_, err := events.Publish(ctx, a.js, subject.Status("b", "web"), &ferryv1.SyncResult{App: "web"}, "")
			return err
		})
		a.denied(t, "put b's heartbeat", "$KV.ferry-clusters.b", func(ctx context.Context) error {
			kv, err := a.js.KeyValue(ctx, subject.BucketClusters)
			if err != nil {
				return err
			}
			_, err = kv.Put(ctx, "b", []byte(`{}`))
			return err
		})
		a.denied(t, "read b's large bundle", jsAPI+"STREAM.INFO.OBJ_"+subject.Bundles("b"), func(ctx context.Context) error {
			_, err := bundle.Load(ctx, a.js, dsB)
			return err
		})
		chunks := "$O." + subject.Bundles("b") + ".C.>"
		a.denied(t, "consume b's bundle chunks", jsAPI+"CONSUMER.CREATE.OBJ_"+subject.Bundles("b")+".sneak."+chunks, func(ctx context.Context) error {
			_, err := a.js.CreateConsumer(ctx, "OBJ_"+subject.Bundles("b"), jetstream.ConsumerConfig{Name: "sneak", FilterSubject: chunks})
			return err
		})
		a.denied(t, "delete a stream", jsAPI+"STREAM.DELETE.FERRY_DESIRED", func(ctx context.Context) error {
			return a.js.DeleteStream(ctx, subject.StreamDesired)
		})
	})

	t.Run("direct get by own subject cannot reach another", func(t *testing.T) {
		// The last-by-subject endpoint refuses a body that names a sequence,
		// so a worker cannot ask for b's message under its own subject.
		body := []byte(`{"seq":` + itoa(seqB) + `}`)
		resp, err := a.nc.RequestWithContext(ctx, jsAPI+"DIRECT.GET.FERRY_DESIRED.ferry.desired.a.web", body)
		if err != nil {
			t.Fatal(err)
		}
		if st := resp.Header.Get("Status"); st != "408" || bytes.Contains(resp.Data, []byte("# b")) {
			t.Errorf("direct get with a sequence: status %q, %d bytes, want 408 and nothing of b", st, len(resp.Data))
		}
	})
}

// replyData is the payload of m, or "" for no message.
func replyData(m *nats.Msg) string {
	if m == nil {
		return ""
	}
	return string(m.Data)
}

func itoa(n uint64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestSeedFileConnects(t *testing.T) {
	set, err := NewSet("a")
	if err != nil {
		t.Fatal(err)
	}
	srv := StartForTest(t, set)
	path := t.TempDir() + "/a.nk"
	if err := set.Workers["a"].WriteSeedFile(path); err != nil {
		t.Fatal(err)
	}
	opts, err := SeedFileOptions(path, "a")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect with seed file: %v", err)
	}
	defer nc.Close()
	if _, err := nats.Connect(srv.ClientURL()); err == nil {
		t.Errorf("anonymous connection accepted")
	}
}
