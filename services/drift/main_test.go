package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
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
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(logging.Into(context.Background(), slog.New(slog.NewTextHandler(logs, nil))))
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
	logs.waitFor(t, "drift service running")
	// A failed render (render's identity publishes those) is alerted on.
	res := &ferryv1.SyncResult{App: "web", Cluster: "a", Revision: "r1", Phase: ferryv1.Phase_PHASE_FAILED, Message: "boom"}
	if _, err := events.Publish(t.Context(), rjs, subject.Status("a", "web"), res, ""); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "web")
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

// syncBuffer is a log sink safe for concurrent loggers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*syncBuffer)(nil)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls the logs for want, failing after a deadline.
func (b *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs:\n%s", want, b.String())
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}
