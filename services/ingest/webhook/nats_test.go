package webhook

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
)

// TestNATSDownThenBack: while the NATS server is down a webhook gets 503
// and nothing is acknowledged; the host's retry of the same delivery after
// NATS is back gets 202 and is stored exactly once.
func TestNATSDownThenBack(t *testing.T) {
	dir := t.TempDir()
	srv, err := natsserver.Start(natsserver.Options{Port: -1, StoreDir: dir, Name: "down-1"})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Addr().(*net.TCPAddr).Port
	url := srv.ClientURL()
	nc, js := connect(t, url)
	opts := testOptions()
	opts.PublishTimeout = 500 * time.Millisecond
	base, logs := serve(t, js, opts)
	client := &http.Client{Timeout: 10 * time.Second}
	body := fixture(t, "github-push.json")

	// Another push before the outage (the tag), so the one during the
	// outage is not a duplicate of it.
	tag := fixture(t, "github-tag.json")
	if status, resp := post(t, client, base+"/webhooks/github", githubHeaders("push", "before-outage", tag), bytes.NewReader(tag)); status != http.StatusAccepted {
		t.Fatalf("with NATS up: status %d (%v), want 202", status, resp)
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	waitFor(t, func() bool { return !nc.IsConnected() })
	logs.take()
	status, resp := post(t, client, base+"/webhooks/github", githubHeaders("push", "during-outage", body), bytes.NewReader(body))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("with NATS down: status %d (%v), want 503", status, resp)
	}
	if n := countMsg(logs.take(), "webhook rejected"); n != 1 {
		t.Fatalf("%d rejection log lines, want 1", n)
	}
	if r, err := http.Get(base + "/readyz"); err != nil || r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with NATS down: %v %v, want 503", r, err)
	}

	srv, err = natsserver.Start(natsserver.Options{Port: port, StoreDir: dir, Name: "down-2"})
	if err != nil {
		t.Fatalf("restart nats on port %d: %v", port, err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	waitFor(t, nc.IsConnected)
	waitFor(t, func() bool {
		r, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	})
	for i := 0; i < 2; i++ { // the host retries; a second retry must not store twice
		status, resp = post(t, client, base+"/webhooks/github", githubHeaders("push", "during-outage", body), bytes.NewReader(body))
		if status != http.StatusAccepted {
			t.Fatalf("retry %d after NATS is back: status %d (%v), want 202", i, status, resp)
		}
	}
	evs, _ := storedAfter(t, js, 0)
	if len(evs) != 2 || evs[0].GetId() != "before-outage" || evs[1].GetId() != "during-outage" {
		ids := []string{}
		for _, e := range evs {
			ids = append(ids, e.GetId())
		}
		t.Fatalf("stored ids %v, want [before-outage during-outage]", ids)
	}
}

// TestClosedConnection: a closed NATS connection answers 503 at once,
// without waiting for the publish timeout: with a timeout far longer than
// the client's, only the immediate refusal can answer in time.
func TestClosedConnection(t *testing.T) {
	_, nc, js := startNATS(t)
	opts := testOptions()
	opts.PublishTimeout = 10 * time.Minute
	base, _ := serve(t, js, opts)
	nc.Close()
	body := fixture(t, "github-push.json")
	client := &http.Client{Timeout: time.Minute}
	status, resp := post(t, client, base+"/webhooks/github", githubHeaders("push", "closed", body), bytes.NewReader(body))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d (%v), want 503", status, resp)
	}
}

// TestPublishFailsWithoutStream: NATS is up but no stream takes the
// subject, so JetStream never acks: 503, and 202 once the stream exists.
func TestPublishFailsWithoutStream(t *testing.T) {
	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	ctx := context.Background()
	if err := js.DeleteStream(ctx, subject.StreamGit); err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "gitea-push.json")
	h := giteaHeaders("push", "no-stream", body)
	if status, resp := post(t, http.DefaultClient, base+"/webhooks/gitea", h, bytes.NewReader(body)); status != http.StatusServiceUnavailable {
		t.Fatalf("without a stream: status %d (%v), want 503", status, resp)
	}
	if err := stream.Ensure(ctx, js, stream.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if status, resp := post(t, http.DefaultClient, base+"/webhooks/gitea", h, bytes.NewReader(body)); status != http.StatusAccepted {
		t.Fatalf("with the stream back: status %d (%v), want 202", status, resp)
	}
	if evs, _ := storedAfter(t, js, 0); len(evs) != 1 {
		t.Fatalf("stored %d, want 1", len(evs))
	}
}

// TestDedupe: the same delivery twice is answered 2xx both times and stored once.
func TestDedupe(t *testing.T) {
	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	for _, tc := range []struct {
		name, path string
		body       []byte
		headers    func([]byte) http.Header
	}{
		{"github", "/webhooks/github", fixture(t, "github-push.json"), func(b []byte) http.Header { return githubHeaders("push", "dup-1", b) }},
		{"gitlab", "/webhooks/gitlab", fixture(t, "gitlab-push.json"), func([]byte) http.Header { return gitlabHeaders("Push Hook", "dup-1") }},
		{"gitlab without uuid", "/webhooks/gitlab", fixture(t, "gitlab-tag.json"), func([]byte) http.Header {
			h := gitlabHeaders("Tag Push Hook", "")
			h.Del("X-Gitlab-Event-Uuid")
			return h
		}},
		{"bitbucket, three refs", "/webhooks/bitbucket", fixture(t, "bitbucket-push.json"), func(b []byte) http.Header { return bitbucketHeaders("repo:push", "dup-1", b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq := lastSeq(t, js)
			var dup []any
			for i := 0; i < 2; i++ {
				status, resp := post(t, http.DefaultClient, base+tc.path, tc.headers(tc.body), bytes.NewReader(tc.body))
				if status != http.StatusAccepted {
					t.Fatalf("delivery %d: status %d (%v), want 202", i, status, resp)
				}
				dup = append(dup, resp["duplicate"])
			}
			evs, _ := storedAfter(t, js, seq)
			want := 1
			if tc.name == "bitbucket, three refs" {
				want = 3
			}
			if len(evs) != want {
				t.Fatalf("stored %d messages for two deliveries, want %d", len(evs), want)
			}
			if dup[0] != false || dup[1] != true {
				t.Fatalf("duplicate flags %v, want [false true]", dup)
			}
		})
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countMsg(recs []map[string]any, msg string) int {
	n := 0
	for _, r := range recs {
		if r["msg"] == msg {
			n++
		}
	}
	return n
}
