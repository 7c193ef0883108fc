package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/services/ingest/webhook"
)

// TestRun wires the binary against an embedded NATS, as its own
// restricted identity once render's has set up the streams: it becomes
// ready, accepts a signed Gitea push, and stops cleanly when its context
// ends, and NATS denies it nothing.
func TestRun(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
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
	seed := filepath.Join(t.TempDir(), "ingest.nk")
	if err := set.Services[natsauth.Ingest].WriteSeedFile(seed); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	opts := webhook.DefaultOptions()
	opts.Addr, opts.GiteaSecret = addr, "s"
	var logs bytes.Buffer
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(logging.Into(context.Background(), slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
	done := make(chan error, 1)
	go func() { done <- run(ctx, natsconn.Options{URL: srv.ClientURL(), NkeySeed: seed}, opts) }()
	t.Cleanup(cancel)

	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	body, err := os.ReadFile(filepath.Join("webhook", "testdata", "gitea-push.json"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("s"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks", bytes.NewReader(body))
	req.Header.Set("X-Gitea-Event", "push")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Gitea-Delivery", "main-1")
	req.Header.Set("X-Gitea-Signature", hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), "nats denied") || strings.Contains(logs.String(), "nats refused") {
		t.Errorf("ingest's identity was refused something:\n%s", logs.String())
	}
}

// lockedWriter serialises writes of concurrent loggers.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
