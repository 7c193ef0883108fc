package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Test secrets, one per provider.
const (
	ghSecret = "gh-s3cret"
	glToken  = "gl-t0ken"
	gtSecret = "gitea-s3cret"
	bbSecret = "bb-s3cret"
)

func testOptions() Options {
	o := DefaultOptions()
	o.GitHubSecret, o.GitLabToken, o.GiteaSecret, o.BitbucketSecret = ghSecret, glToken, gtSecret, bbSecret
	o.MaxBodyBytes = 64 << 10
	o.PublishTimeout = 2 * time.Second
	return o
}

// connect dials srv with reconnects that never give up, and ensures the streams.
func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Ensure(context.Background(), js, stream.DefaultOptions()); err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
	return nc, js
}

// startNATS starts an embedded JetStream server for the test and connects to it.
func startNATS(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := natsserver.StartForTest(t)
	nc, js := connect(t, srv.ClientURL())
	return srv, nc, js
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// take returns the log records written since the last take.
func (l *logBuffer) take() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			recs = append(recs, m)
		}
	}
	l.buf.Reset()
	return recs
}

// serve runs Run on a loopback listener until the test ends and returns
// the base URL and the log of the server.
func serve(t testing.TB, js jetstream.JetStream, opts Options) (string, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(logging.Into(context.Background(), slog.New(slog.NewJSONHandler(logs, nil))))
	done := make(chan error, 1)
	go func() { done <- Run(ctx, js, ln, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil after a clean shutdown", err)
		}
	})
	return "http://" + ln.Addr().String(), logs
}

// fixture reads testdata/name.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Signed header sets as each host sends them.
func githubHeaders(event, delivery string, body []byte) http.Header {
	return http.Header{"X-Github-Event": {event}, "X-Github-Delivery": {delivery},
		"X-Hub-Signature-256": {"sha256=" + hmacHex(ghSecret, body)}, "Content-Type": {"application/json"}}
}

func gitlabHeaders(event, delivery string) http.Header {
	return http.Header{"X-Gitlab-Event": {event}, "X-Gitlab-Event-Uuid": {delivery},
		"X-Gitlab-Token": {glToken}, "Content-Type": {"application/json"}}
}

// giteaHeaders includes the GitHub-style headers Gitea also sends.
func giteaHeaders(event, delivery string, body []byte) http.Header {
	sig := hmacHex(gtSecret, body)
	return http.Header{"X-Gitea-Event": {event}, "X-Gitea-Delivery": {delivery}, "X-Gitea-Signature": {sig},
		"X-Gogs-Event": {event}, "X-Github-Event": {event}, "X-Github-Delivery": {delivery},
		"X-Hub-Signature-256": {"sha256=" + sig}, "Content-Type": {"application/json"}}
}

func bitbucketHeaders(event, delivery string, body []byte) http.Header {
	return http.Header{"X-Event-Key": {event}, "X-Request-Uuid": {delivery}, "X-Hook-Uuid": {"hook-1"},
		"X-Hub-Signature": {"sha256=" + hmacHex(bbSecret, body)}, "Content-Type": {"application/json"}}
}

// post sends body with h and returns the status and decoded JSON answer.
func post(t testing.TB, client *http.Client, url string, h http.Header, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// lastSeq returns the last sequence of FERRY_GIT.
func lastSeq(t testing.TB, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), subject.StreamGit)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// storedAfter returns the push events stored after sequence seq, with their subjects and headers.
func storedAfter(t testing.TB, js jetstream.JetStream, seq uint64) ([]*ferryv1.PushEvent, []*jetstream.RawStreamMsg) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, subject.StreamGit)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*ferryv1.PushEvent
	var raws []*jetstream.RawStreamMsg
	for i := seq + 1; ; i++ {
		raw, err := s.GetMsg(ctx, i)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return evs, raws
		}
		if err != nil {
			t.Fatalf("get msg %d: %v", i, err)
		}
		ev := &ferryv1.PushEvent{}
		if _, err := events.Decode(ctx, raw.Header, raw.Data, ev); err != nil {
			t.Fatal(err)
		}
		evs, raws = append(evs, ev), append(raws, raw)
	}
}

func urlEncode(b []byte) string { return url.QueryEscape(string(b)) }
