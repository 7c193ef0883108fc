package web

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// env is a dashboard served on a loopback port, on a real embedded NATS
// server with Ferry's streams and buckets.
type env struct {
	t    *testing.T
	js   jetstream.JetStream
	srv  *Server
	url  string
	stop func() error
}

// start runs a dashboard with opts; the test's cleanup stops it and NATS.
func start(t *testing.T, opts Options) *env {
	t.Helper()
	_, nc, js := natstest.JetStream(t)
	ctx := context.Background()
	fc, err := fleet.NewClient(nc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(fc, opts)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(logging.Into(ctx, logging.Discard()))
	done := make(chan error, 1)
	go func() { done <- srv.Run(rctx, ln) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("dashboard stopped with %v", err)
		}
	})
	e := &env{t: t, js: js, srv: srv, url: "http://" + ln.Addr().String(), stop: stop}
	e.waitHealthy()
	return e
}

// waitHealthy waits until the dashboard follows the event streams.
func (e *env) waitHealthy() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := e.get(http.DefaultClient, "/readyz"); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatal("dashboard not ready within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscribers is how many event streams are open.
func (e *env) subscribers() int { return e.srv.hub.count() }

// publish stores m on subj as a Ferry service would.
func (e *env) publish(subj string, m proto.Message) {
	e.t.Helper()
	if _, err := events.Publish(context.Background(), e.js, subj, m, ""); err != nil {
		e.t.Fatal(err)
	}
}

// heartbeat puts a live heartbeat of cluster's worker.
func (e *env) heartbeat(name string, apps map[string]cluster.AppStatus) {
	e.t.Helper()
	ctx := context.Background()
	kv, err := e.js.KeyValue(ctx, subject.BucketClusters)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now()
	data, err := cluster.Encode(cluster.Heartbeat{Cluster: name, Version: "v9.8.7", SeenAt: now, StartedAt: now.Add(-time.Hour),
		Interval: cluster.Duration(10 * time.Second), Pending: 2, Apps: apps})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := kv.Put(ctx, name, data); err != nil {
		e.t.Fatal(err)
	}
}

// deploy stores a desired state and its successful result for app in cl.
func (e *env) deploy(cl, app, rev, msg string) {
	e.t.Helper()
	e.publish(subject.Desired(cl, app), &ferryv1.DesiredState{App: app, Cluster: cl, Namespace: app, Revision: rev,
		Digest: "sha256:" + rev, Commit: &ferryv1.Commit{Id: rev, Message: msg, Author: "Ada <ada@example.com>", TimestampUnix: time.Now().Unix()}})
	now := time.Now().UnixNano()
	e.publish(subject.Status(cl, app), &ferryv1.SyncResult{App: app, Cluster: cl, Revision: rev, Digest: "sha256:" + rev,
		Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY, StartedUnixNano: now, FinishedUnixNano: now,
		Objects: []*ferryv1.ObjectResult{
			{Ref: &ferryv1.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: app, Name: "web"}, Action: ferryv1.Action_ACTION_CONFIGURED, Health: ferryv1.Health_HEALTH_HEALTHY},
			{Ref: &ferryv1.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: app, Name: "web"}, Action: ferryv1.Action_ACTION_UNCHANGED, Health: ferryv1.Health_HEALTH_HEALTHY, Message: "Deployment is available. Replicas: 1"},
		}})
}

// client is an HTTP client that keeps cookies and does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches path and returns the status and body.
func (e *env) get(c *http.Client, path string, header ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(c, req)
}

// post sends form to path.
func (e *env) post(c *http.Client, path string, form url.Values, header ...string) (int, string, *http.Response) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp
}

func (e *env) do(c *http.Client, req *http.Request) (int, string) {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// mustContain fails unless body holds every want.
func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

// mustLack fails if body holds any of bad.
func mustLack(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("%s holds %q but must not", what, b)
		}
	}
}

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }
