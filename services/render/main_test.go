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
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/renderer"
)

// TestRunAsItsIdentity runs the binary's run with render's restricted
// NATS identity on a server nobody has set up: it creates the streams,
// watches the app registry, takes a push from ingest's identity (of a
// platform repository it cannot reach, so it retries) and stops, and NATS denies
// it nothing.
func TestRunAsItsIdentity(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	seed := filepath.Join(t.TempDir(), "render.nk")
	if err := set.Services[natsauth.Render].WriteSeedFile(seed); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(logs.Context(context.Background()))
	defer cancel()
	done := make(chan error, 1)
	cfg := config{nats: natsconn.Options{URL: srv.ClientURL(), NkeySeed: seed}, render: renderer.Options{CacheDir: t.TempDir(), PlatformRepos: []string{"http://127.0.0.1:1/apps.git"}}}
	go func() { done <- run(ctx, cfg) }()
	logs.WaitFor(t, "render started", 20*time.Second)

	ingest, err := nats.Connect(srv.ClientURL(), set.Services[natsauth.Ingest].ConnectOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ingest.Close()
	ijs, err := jetstream.New(ingest)
	if err != nil {
		t.Fatal(err)
	}
	push := &ferryv1.PushEvent{Id: "p1", Provider: "github", RepoKey: subject.RepoKey("http://127.0.0.1:1/apps.git"),
		CloneUrl: "http://127.0.0.1:1/apps.git", Ref: "refs/heads/main", After: strings.Repeat("a", 40)}
	if _, err := events.Publish(t.Context(), ijs, subject.GitPush(push.RepoKey), push, "github:p1"); err != nil {
		t.Fatal(err)
	}
	logs.WaitFor(t, "127.0.0.1:1", 20*time.Second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	if s := logs.String(); strings.Contains(s, "nats denied") || strings.Contains(s, "nats refused") {
		t.Errorf("render's identity was refused something:\n%s", s)
	}
}
