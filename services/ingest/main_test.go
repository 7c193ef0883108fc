package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/services/ingest/webhook"
)

// TestRun wires the binary against an embedded NATS: it becomes ready,
// accepts a signed Gitea push, and stops cleanly when its context ends.
func TestRun(t *testing.T) {
	srv := natsserver.StartForTest(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	opts := webhook.DefaultOptions()
	opts.Addr, opts.GiteaSecret = addr, "s"
	ctx, cancel := context.WithCancel(logging.Into(context.Background(), logging.Discard()))
	done := make(chan error, 1)
	go func() { done <- run(ctx, natsconn.Options{URL: srv.ClientURL()}, opts) }()
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
}
