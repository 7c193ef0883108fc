package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestWorkerWithClusterCredentials runs a worker with the NATS user of
// its cluster: it applies, answers commands and beats without a single
// permission violation, and cannot read or write another cluster's subjects.
func TestWorkerWithClusterCredentials(t *testing.T) {
	const other = "other"
	set, err := natsauth.NewTestSet(testCluster, other)
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	connect := func(u *natsauth.User, violations chan<- error) (*nats.Conn, jetstream.JetStream) {
		opts := append(u.ConnectOptions(), nats.PermissionErrOnSubscribe(true),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				if errors.Is(err, nats.ErrPermissionViolation) {
					violations <- err
				}
			}))
		nc, err := nats.Connect(srv.ClientURL(), opts...)
		if err != nil {
			t.Fatalf("connect as %s: %v", u.Name, err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return nc, js
	}
	adminViolations, violations := make(chan error, 16), make(chan error, 64)
	adminNC, adminJS := connect(set.Admin, adminViolations)
	if err := stream.Ensure(t.Context(), adminJS, stream.Options{Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("admin ensures streams: %v", err)
	}
	kc, err := client.New(cp.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, nc: adminNC, js: adminJS, kube: kc, results: make(chan *ferryv1.SyncResult, 64),
		interim: make(chan *ferryv1.SyncResult, 64)}
	if _, err := adminNC.Subscribe(subject.StatusForCluster(testCluster), func(m *nats.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.Decode(context.Background(), m.Header, m.Data, &r); err == nil {
			e.deliver(&r)
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The other cluster has a desired state the worker must not see.
	ds := &ferryv1.DesiredState{App: "secret", Cluster: other, Namespace: "secret", Revision: "o1", Manifests: stateApp("secret", "o1")}
	if _, err := events.Publish(t.Context(), adminJS, subject.Desired(other, "secret"), ds, ""); err != nil {
		t.Fatal(err)
	}

	wu, err := set.Worker(testCluster)
	if err != nil {
		t.Fatal(err)
	}
	workerNC, workerJS := connect(wu, violations)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, workerJS, cp.RESTConfig(), Options{Cluster: testCluster, HeartbeatInterval: 200 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return")
		}
	})
	e.eventually("command consumer created", 10*time.Second, func() error {
		_, err := adminJS.Consumer(t.Context(), subject.StreamCommands, subject.CommandConsumer(testCluster))
		return err
	})

	// Its job: apply, roll back through the history, beat.
	const app, ns = "authz", "authz"
	e.publishRendered(app, ns, "a1", time.Now())
	wantPhase(t, e.result(30*time.Second), "a1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.publishRendered(app, ns, "a2", time.Now())
	wantPhase(t, e.result(30*time.Second), "a2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "a1", "judy")), "a1", ferryv1.Phase_PHASE_SUCCEEDED, "judy")
	if got := e.live(ns); got != "a1" {
		t.Fatalf("live %s after rollback, want a1", got)
	}
	e.eventually("heartbeat", 5*time.Second, func() error {
		hb, err := e.heartbeatOf(testCluster)
		if err != nil {
			return err
		}
		if hb.Apps[app].Revision != "a1" {
			return fmt.Errorf("heartbeat %+v", hb)
		}
		return nil
	})
	// Answering a diff query reads the pinned revision's history and
	// replies on the asker's inbox.
	if res := e.askDiff(app); res.GetError() != "" || res.GetRevision() != "a1" || len(res.GetObjects()) != 2 {
		t.Errorf("diff with the worker's own credentials: revision %q, %d objects, error %q", res.GetRevision(), len(res.GetObjects()), res.GetError())
	}
	select {
	case err := <-violations:
		t.Fatalf("the worker's own job hit a permission violation: %v", err)
	case <-time.After(300 * time.Millisecond):
	}

	// Not its job: anything of the other cluster.
	denied := func(what, subj string, op func(ctx context.Context) error) {
		t.Helper()
		natsauth.ExpectDenied(t, violations, what, subj, op)
	}
	var cm corev1.ConfigMap
	if err := kc.Get(t.Context(), client.ObjectKey{Namespace: "secret", Name: "state"}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("the other cluster's state was applied here: %v", err)
	}
	denied("consumer on the other cluster's desired state",
		"$JS.API.CONSUMER.CREATE.FERRY_DESIRED."+ConsumerName(testCluster)+"."+subject.DesiredForCluster(other),
		func(ctx context.Context) error {
			_, err := workerJS.CreateOrUpdateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{
				Durable: ConsumerName(testCluster), FilterSubject: subject.DesiredForCluster(other),
			})
			return err
		})
	denied("subscription to the other cluster's desired state", subject.DesiredForCluster(other), func(context.Context) error {
		sub, err := workerNC.SubscribeSync(subject.DesiredForCluster(other))
		if err != nil {
			return err
		}
		_, err = sub.NextMsg(500 * time.Millisecond)
		return err
	})
	denied("the other cluster's diff queries", subject.Query(other, subject.QueryDiff), func(context.Context) error {
		sub, err := workerNC.QueueSubscribe(subject.Query(other, subject.QueryDiff), ConsumerName(other), func(*nats.Msg) {})
		if err != nil {
			return err
		}
		_, err = adminNC.Request(subject.Query(other, subject.QueryDiff), nil, 500*time.Millisecond)
		_ = sub.Unsubscribe()
		return err
	})
	denied("direct get of the other cluster's newest revision", "$JS.API.DIRECT.GET.FERRY_DESIRED."+subject.Desired(other, "secret"), func(ctx context.Context) error {
		s, err := workerJS.Stream(ctx, subject.StreamDesired)
		if err != nil {
			return err
		}
		_, err = s.GetLastMsgForSubject(ctx, subject.Desired(other, "secret"))
		return err
	})
	denied("status of the other cluster", subject.Status(other, "secret"), func(ctx context.Context) error {
		_, err := events.Publish(ctx, workerJS, subject.Status(other, "secret"), &ferryv1.SyncResult{App: "secret"}, "")
		return err
	})
	denied("command of the other cluster", "$JS.API.CONSUMER.CREATE.FERRY_CMD.cmd-other."+subject.CommandsForCluster(other), func(ctx context.Context) error {
		_, err := workerJS.CreateOrUpdateConsumer(ctx, subject.StreamCommands, jetstream.ConsumerConfig{
			Durable: subject.CommandConsumer(other), FilterSubject: subject.CommandsForCluster(other),
		})
		return err
	})
}
