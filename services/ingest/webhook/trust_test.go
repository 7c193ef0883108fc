package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/logging"
)

// TestReplayIsStoredOnce: a captured signed body replayed under new
// delivery ids is one push, stored once; the answers say which were
// duplicates, and every event keeps its own delivery id for the logs.
func TestReplayIsStoredOnce(t *testing.T) {
	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	body := fixture(t, "github-push.json")
	seq := lastSeq(t, js)
	for i := 0; i < 20; i++ {
		status, resp := post(t, http.DefaultClient, base+"/webhooks/github", githubHeaders("push", "replay-"+strconv.Itoa(i), body), bytes.NewReader(body))
		if status != http.StatusAccepted {
			t.Fatalf("replay %d: status %d (%v), want 202", i, status, resp)
		}
		if dup := resp["duplicate"]; dup != (i > 0) {
			t.Fatalf("replay %d: duplicate %v, want %v", i, dup, i > 0)
		}
		if resp["id"] != "replay-"+strconv.Itoa(i) {
			t.Fatalf("replay %d: answered id %v, want the delivery id", i, resp["id"])
		}
	}
	evs, raws := storedAfter(t, js, seq)
	if len(evs) != 1 {
		t.Fatalf("20 deliveries of one signed body stored %d messages, want 1", len(evs))
	}
	if evs[0].GetId() != "replay-0" {
		t.Fatalf("stored event id %q, want the first delivery id", evs[0].GetId())
	}
	want := wantMsgID(evs[0].GetCloneUrl(), evs[0].GetRef(), evs[0].GetBefore(), evs[0].GetAfter())
	if got := raws[0].Header.Get("Nats-Msg-Id"); got != want {
		t.Fatalf("Nats-Msg-Id %q, want %q", got, want)
	}
}

// TestTransitionsAreDistinct: X→A, A→B, B→A on one branch are three
// pushes, stored three times although B→A returns to a revision seen
// before; a redelivery of A→B is a duplicate, and the same revisions on
// another branch are another push.
func TestTransitionsAreDistinct(t *testing.T) {
	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	const (
		x = "737d38c599c1b2991664dfc6155d6bf516fcce36"
		a = "fd489864e7642b48eaad6e3f155c10e46810ec72"
		b = "1111111111111111111111111111111111111111"
	)
	push := fixture(t, "github-push.json")
	transition := func(ref, before, after string) []byte {
		p := bytes.Replace(push, []byte(`"before": "`+x+`"`), []byte(`"before": "`+before+`"`), 1)
		p = bytes.Replace(p, []byte(`"after": "`+a+`"`), []byte(`"after": "`+after+`"`), 1)
		return bytes.Replace(p, []byte(`"ref": "refs/heads/master"`), []byte(`"ref": "`+ref+`"`), 1)
	}
	seq := lastSeq(t, js)
	for i, tc := range []struct {
		body []byte
		dup  bool
	}{
		{transition("refs/heads/master", x, a), false},
		{transition("refs/heads/master", a, b), false},
		{transition("refs/heads/master", b, a), false},
		{transition("refs/heads/master", a, b), true}, // the host redelivers A→B
		{transition("refs/heads/other", a, b), false},
	} {
		status, resp := post(t, http.DefaultClient, base+"/webhooks/github", githubHeaders("push", "t-"+strconv.Itoa(i), tc.body), bytes.NewReader(tc.body))
		if status != http.StatusAccepted || resp["duplicate"] != tc.dup {
			t.Fatalf("push %d: status %d (%v), want 202 with duplicate %v", i, status, resp, tc.dup)
		}
	}
	evs, _ := storedAfter(t, js, seq)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.GetRef()+" "+ev.GetBefore()[:1]+"→"+ev.GetAfter()[:1])
	}
	want := []string{"refs/heads/master 7→f", "refs/heads/master f→1", "refs/heads/master 1→f", "refs/heads/other f→1"}
	if len(got) != len(want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("stored %v, want %v", got, want)
		}
	}
}

// TestBusyIsRetried: while the in-flight budget is taken by a body still
// being sent, a webhook that finds no room is answered 503 with
// Retry-After before its body is read; the host's retry once the room is
// free is accepted and stored.
func TestBusyIsRetried(t *testing.T) {
	_, _, js := startNATS(t)
	opts := testOptions()
	opts.MaxBodyBytes, opts.MaxInflightBytes, opts.InflightWait = 64<<10, 64<<10, 200*time.Millisecond
	h, hh, err := newHandler(js, opts)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv := httptest.NewUnstartedServer(hh)
	srv.Config.BaseContext = func(net.Listener) context.Context {
		return logging.Into(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)))
	}
	srv.Start()
	t.Cleanup(srv.Close)
	base := srv.URL

	// A mis-signed 60 KiB body, sent slowly: its first half now, the rest later.
	junk := bytes.Repeat([]byte("j"), 60<<10)
	pr, pw := io.Pipe()
	slow, err := http.NewRequest(http.MethodPost, base+"/webhooks/github", pr)
	if err != nil {
		t.Fatal(err)
	}
	slow.ContentLength = int64(len(junk))
	slow.Header = githubHeaders("push", "slow", []byte("something else"))
	slowDone := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(slow)
		if err != nil {
			slowDone <- 0
			return
		}
		resp.Body.Close()
		slowDone <- resp.StatusCode
	}()
	if _, err := pw.Write(junk[:30<<10]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { reserved, _ := h.limits.mem.stats(); return reserved == h.limits.mem.total })

	body := fixture(t, "github-push.json")
	signed := githubHeaders("push", "busy-1", body)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
	req.Header = signed
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("with the budget taken: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var busy bool
	for _, rec := range logs.take() {
		if r, _ := rec["reason"].(string); rec["msg"] == "webhook rejected" && bytes.Contains([]byte(r), []byte("ingest busy")) {
			busy = rec["level"] == "WARN" // shedding load is not an error of ingest
		}
	}
	if !busy {
		t.Fatal("no rejection logged at WARN as ingest busy")
	}

	if _, err := pw.Write(junk[30<<10:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if status := <-slowDone; status != http.StatusUnauthorized {
		t.Fatalf("mis-signed slow body: status %d, want 401", status)
	}
	if reserved, _ := h.limits.mem.stats(); reserved != 0 {
		t.Fatalf("%d blocks still reserved after both requests", reserved)
	}
	seq := lastSeq(t, js)
	if status, resp := post(t, http.DefaultClient, base+"/webhooks/github", signed, bytes.NewReader(body)); status != http.StatusAccepted {
		t.Fatalf("retry once the room is free: status %d (%v), want 202", status, resp)
	}
	if evs, _ := storedAfter(t, js, seq); len(evs) != 1 {
		t.Fatalf("retry stored %d, want 1", len(evs))
	}
}

// TestRefusedBeforeTheBody: a request whose headers already condemn it (a
// wrong GitLab token, no or a malformed signature, a stated length over
// the limit) is refused without a byte of its body read into memory:
// ingest never makes a body block for it. The host still gets the status.
func TestRefusedBeforeTheBody(t *testing.T) {
	_, _, js := startNATS(t)
	h, hh, err := newHandler(js, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hh)
	t.Cleanup(srv.Close)
	big := bytes.Repeat([]byte("x"), 60<<10) // under the test limit of 64 KiB
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	for _, tc := range []struct {
		name    string
		path    string
		headers http.Header
		body    []byte
		status  int
	}{
		{"gitlab wrong token", "/webhooks/gitlab", with(gitlabHeaders("Push Hook", "b1"), "X-Gitlab-Token", "wrong"), big, 401},
		{"github without signature", "/webhooks/github", http.Header{"X-Github-Event": {"push"}}, big, 401},
		{"github signature not hex", "/webhooks/github", with(githubHeaders("push", "b2", big), "X-Hub-Signature-256", "sha256=xyz"), big, 401},
		{"github sha1 signature", "/webhooks/github", with(githubHeaders("push", "b3", big), "X-Hub-Signature-256", "sha1=abc"), big, 401},
		{"bitbucket signature of the wrong length", "/webhooks/bitbucket", with(bitbucketHeaders("repo:push", "b4", big), "X-Hub-Signature", "sha256=abcd"), big, 401},
		{"stated length over the limit", "/webhooks/github", githubHeaders("push", "b5", big), bytes.Repeat([]byte("x"), 65<<10), 413},
		{"unknown provider", "/webhooks", http.Header{}, big, 400},
	} {
		status, resp := post(t, http.DefaultClient, srv.URL+tc.path, tc.headers, bytes.NewReader(tc.body))
		if status != tc.status {
			t.Errorf("%s: status %d (%v), want %d", tc.name, status, resp, tc.status)
		}
		if _, allocated := h.limits.mem.stats(); allocated != 0 {
			t.Fatalf("%s: %d body blocks made for a request refused from its headers", tc.name, allocated)
		}
	}
	// A forged signature of the right shape must be read to be refuted:
	// it takes blocks from the budget, and gives them back.
	forged := with(githubHeaders("push", "b6", big), "X-Hub-Signature-256", "sha256="+hmacHex("not the secret", big))
	if status, resp := post(t, http.DefaultClient, srv.URL+"/webhooks/github", forged, bytes.NewReader(big)); status != 401 {
		t.Fatalf("forged signature: status %d (%v), want 401", status, resp)
	}
	if reserved, allocated := h.limits.mem.stats(); reserved != 0 || allocated != blocksFor(int64(len(big))) {
		t.Fatalf("forged signature: %d blocks reserved, %d made; want 0 and %d", reserved, allocated, blocksFor(int64(len(big))))
	}
}
