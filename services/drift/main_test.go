package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging/logtest"
	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestRunAsItsIdentity runs the binary's run with drift's restricted
// NATS identity: it waits for render's identity to set up the streams,
// starts, takes a failed sync and stops, and NATS denies it nothing.
func TestRunAsItsIdentity(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	seed := filepath.Join(t.TempDir(), "drift.nk")
	if err := set.Services[natsauth.Drift].WriteSeedFile(seed); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(logs.Context(context.Background()))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, natsconn.Options{URL: srv.ClientURL(), NkeySeed: seed}, "") }()

	render, err := nats.Connect(srv.ClientURL(), set.Services[natsauth.Render].ConnectOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer render.Close()
	rjs, err := jetstream.New(render)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Ensure(t.Context(), rjs, stream.Options{Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	logs.WaitFor(t, "drift service running", 20*time.Second)
	// A failed render (render's identity publishes those) is alerted on.
	res := &ferryv1.SyncResult{App: "web", Cluster: "a", Revision: "r1", Phase: ferryv1.Phase_PHASE_FAILED, Message: "boom"}
	if _, err := events.Publish(t.Context(), rjs, subject.Status("a", "web"), res, ""); err != nil {
		t.Fatal(err)
	}
	logs.WaitFor(t, "web", 20*time.Second)
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
		t.Errorf("drift's identity was refused something:\n%s", s)
	}
}
