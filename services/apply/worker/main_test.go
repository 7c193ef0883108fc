package worker

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// cp is the one control plane of this package's tests: etcd,
// kube-apiserver, and kube-controller-manager, kube-scheduler and kwok so
// that Deployments really become Ready.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(controlplane.MainWith(m, &cp, controlplane.Options{Workloads: true}))
}

// testHealthTimeout keeps health waits short; kwok makes Pods Ready within
// a second or two.
const testHealthTimeout = 45 * time.Second

// testCluster is the cluster name every test's worker serves; each test has
// its own NATS server, so they do not share consumers.
const testCluster = "test"

// env is one test's NATS server, JetStream, result subscription and
// Kubernetes client.
type env struct {
	t       *testing.T
	nc      *nats.Conn
	js      jetstream.JetStream
	kube    client.Client
	results chan *ferryv1.SyncResult
	// interim receives "applied, awaiting health" results.
	interim chan *ferryv1.SyncResult
}

// newEnv starts an embedded NATS with Ferry's streams and subscribes to
// the test cluster's sync results.
func newEnv(t *testing.T) *env {
	t.Helper()
	_, nc, js := natstest.JetStream(t)
	kc, err := client.New(cp.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	e := &env{t: t, nc: nc, js: js, kube: kc, results: make(chan *ferryv1.SyncResult, 64),
		interim: make(chan *ferryv1.SyncResult, 64)}
	_, err = nc.Subscribe(subject.StatusForCluster("*"), func(m *nats.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.Decode(context.Background(), m.Header, m.Data, &r); err != nil {
			t.Errorf("decode result: %v", err)
			return
		}
		e.deliver(&r)
	})
	if err != nil {
		t.Fatalf("subscribe results: %v", err)
	}
	return e
}

// startWorker runs a worker against cfg (the test control plane when nil)
// and returns a function that stops it and checks Run returned nil. The
// worker is also stopped at the end of the test.
func (e *env) startWorker(cfg *rest.Config) (stop func()) {
	e.t.Helper()
	return e.startWorkerWith(cfg, Options{Cluster: testCluster})
}

// startWorkerWith is startWorker with options; an empty cluster is
// testCluster, and tests get a short HealthTimeout unless they set one.
func (e *env) startWorkerWith(cfg *rest.Config, opts Options) (stop func()) {
	e.t.Helper()
	if cfg == nil {
		cfg = cp.RESTConfig()
	}
	if opts.Cluster == "" {
		opts.Cluster = testCluster
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = testHealthTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, e.js, cfg, opts) }()
	// Wait until the durable consumer exists, so nothing races its creation.
	e.eventually("consumer created", 10*time.Second, func() error {
		_, err := e.js.Consumer(ctx, subject.StreamDesired, ConsumerName(opts.Cluster))
		return err
	})
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(30 * time.Second):
			e.t.Errorf("Run did not return 30s after cancel")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// publish sends the desired state of app at revision with data as its
// manifests, through the same bundle path render uses.
func (e *env) publish(app, namespace, revision string, data []byte) *ferryv1.DesiredState {
	e.t.Helper()
	return e.publishState(&ferryv1.DesiredState{
		App: app, Namespace: namespace, Revision: revision,
		Sync: &ferryv1.SyncPolicy{Automated: true},
	}, data)
}

// publishState fills in the cluster, push id, timestamps and bundle of ds
// and publishes it.
func (e *env) publishState(ds *ferryv1.DesiredState, data []byte) *ferryv1.DesiredState {
	e.t.Helper()
	if ds.Cluster == "" {
		ds.Cluster = testCluster
	}
	ds.PushId, ds.ReceivedUnixNano = "push-"+ds.GetRevision(), time.Now().UnixNano()
	app := ds.GetApp()
	if err := bundle.Attach(e.t.Context(), e.js, ds, data); err != nil {
		e.t.Fatalf("attach bundle: %v", err)
	}
	if _, err := events.Publish(e.t.Context(), e.js, subject.Desired(ds.GetCluster(), app), ds, ""); err != nil {
		e.t.Fatalf("publish desired state: %v", err)
	}
	return ds
}

// deliver routes a result: "applied, awaiting health" results to interim,
// final ones to results, which most tests read.
func (e *env) deliver(r *ferryv1.SyncResult) {
	if r.GetAwaitingHealth() {
		e.interim <- r
		return
	}
	e.results <- r
}

// result waits for the next final sync result.
func (e *env) result(timeout time.Duration) *ferryv1.SyncResult {
	e.t.Helper()
	select {
	case r := <-e.results:
		return r
	case <-time.After(timeout):
		e.t.Fatalf("no sync result within %s", timeout)
		return nil
	}
}

// noResult checks that no sync result arrives within d.
func (e *env) noResult(d time.Duration) {
	e.t.Helper()
	select {
	case r := <-e.results:
		e.t.Fatalf("unexpected sync result: phase %s revision %s: %s", r.GetPhase(), r.GetRevision(), r.GetMessage())
	case <-time.After(d):
	}
}

// consumerInfo returns the state of the worker's durable consumer.
func (e *env) consumerInfo() *jetstream.ConsumerInfo {
	e.t.Helper()
	return e.consumerInfoOf(testCluster)
}

// consumerInfoOf returns the state of cluster's durable consumer.
func (e *env) consumerInfoOf(cluster string) *jetstream.ConsumerInfo {
	e.t.Helper()
	c, err := e.js.Consumer(e.t.Context(), subject.StreamDesired, ConsumerName(cluster))
	if err != nil {
		e.t.Fatalf("consumer: %v", err)
	}
	info, err := c.Info(e.t.Context())
	if err != nil {
		e.t.Fatalf("consumer info: %v", err)
	}
	return info
}

// settled waits until the consumer has delivered everything and holds no
// unacknowledged message.
func (e *env) settled() {
	e.t.Helper()
	e.settledOf(testCluster)
}

// settledOf is settled for cluster's consumer.
func (e *env) settledOf(cluster string) {
	e.t.Helper()
	e.eventually("consumer settled", 5*time.Second, func() error {
		info := e.consumerInfoOf(cluster)
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("pending %d, ack pending %d", info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

// eventually retries check until it returns nil or timeout passes.
func (e *env) eventually(what string, timeout time.Duration, check func() error) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
