package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging/logtest"
	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/dashboard/web"
)

const token = "test-operator-token-0123456789"

// TestRunAsTheOperator runs the binary's run with the operator's NATS
// identity: it follows the streams, serves the grid, an app, a cluster
// and, logged in, a diff the worker answers, and NATS denies it nothing.
func TestRunAsTheOperator(t *testing.T) {
	set, err := natsauth.NewSet("prod")
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	as := func(u *natsauth.User) (*nats.Conn, jetstream.JetStream) {
		nc, err := nats.Connect(srv.ClientURL(), u.ConnectOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return nc, js
	}
	ctx := t.Context()
	_, render := as(set.Services[natsauth.Render])
	if err := stream.Ensure(ctx, render, stream.Options{Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(ctx, render, subject.Desired("prod", "web"), &ferryv1.DesiredState{App: "web", Cluster: "prod", Revision: strings.Repeat("1", 40)}, ""); err != nil {
		t.Fatal(err)
	}
	wnc, worker := as(set.Workers["prod"])
	if _, err := events.Publish(ctx, worker, subject.Status("prod", "web"), &ferryv1.SyncResult{App: "web", Cluster: "prod", Revision: strings.Repeat("1", 40), Phase: ferryv1.Phase_PHASE_SUCCEEDED}, ""); err != nil {
		t.Fatal(err)
	}
	hb, _ := cluster.Encode(cluster.Heartbeat{Cluster: "prod", Version: "v1", SeenAt: time.Now(), Interval: cluster.Duration(10 * time.Second)})
	kv, err := worker.KeyValue(ctx, subject.BucketClusters)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "prod", hb); err != nil {
		t.Fatal(err)
	}
	if _, err := wnc.QueueSubscribe(subject.QueriesForCluster("prod"), subject.ApplyConsumer("prod"), func(m *nats.Msg) {
		data, _ := proto.Marshal(&ferryv1.DiffResponse{App: "web", Cluster: "prod", Revision: strings.Repeat("1", 40)})
		_ = m.Respond(data)
	}); err != nil {
		t.Fatal(err)
	}
	_ = wnc.Flush()

	seed := filepath.Join(t.TempDir(), "operator.nk")
	if err := set.Services[natsauth.Operator].WriteSeedFile(seed); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	opts := web.DefaultOptions()
	opts.Addr, opts.OperatorToken = addr, token
	logs := &logtest.Buffer{}
	rctx, cancel := context.WithCancel(logs.Context(context.Background()))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(rctx, natsconn.Options{URL: srv.ClientURL(), NkeySeed: seed}, opts) }()

	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(path string) (int, string) {
		resp, err := c.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, _ := get("/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 15s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	for path, want := range map[string]string{"/": "web", "/apps/web": "1111111", "/clusters/prod": "v1"} {
		if code, body := get(path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, want 200 with %q", path, code, want)
		}
	}
	resp, err := c.PostForm(base+"/login", url.Values{"name": {"ada"}, "token": {token}, "next": {"/apps/web"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, body := get("/apps/web/diff/prod"); code != http.StatusOK || !strings.Contains(body, "No objects.") {
		t.Errorf("GET the diff = %d, want the worker's answer:\n%s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	if s := logs.String(); strings.Contains(s, "nats denied") || strings.Contains(s, "nats refused") {
		t.Errorf("the operator's identity was refused something:\n%s", s)
	}
}
