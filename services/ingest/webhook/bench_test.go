package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
)

// benchSenders is the number of concurrent senders per GOMAXPROCS, like a
// busy Git host delivering many webhooks at once (32 on 2 cores).
const benchSenders = 16

// BenchmarkIngest posts signed ~6 KB GitHub push webhooks over loopback
// HTTP to Run, each answered only after the embedded JetStream (file
// storage) acknowledged it, from many concurrent senders. It reports
// webhooks/s; DESIGN.md targets at least 10,000/s on 2 cores. Compare with
// BenchmarkHTTPFloor and BenchmarkPublishFloor from the same run.
func BenchmarkIngest(b *testing.B) {
	_, _, js := startNATS(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	// Log every accepted webhook as in production, to a sink.
	ctx, cancel := context.WithCancel(logging.Into(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil))))
	done := make(chan error, 1)
	go func() { done <- Run(ctx, js, ln, testOptions()) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	})
	// Every webhook is another push (its own after), signed as the host
	// would, before the clock starts: the same body under new delivery
	// ids would be one push stored once.
	template := benchBody(b)
	after := []byte("fd489864e7642b48eaad6e3f155c10e46810ec72")
	at := bytes.Index(template, after)
	if at < 0 {
		b.Fatal("no after in the bench body")
	}
	bodies, sigs := make([][]byte, b.N), make([]string, b.N)
	for i := range bodies {
		body := bytes.Clone(template)
		copy(body[at:], fmt.Sprintf("%040x", i+1))
		bodies[i], sigs[i] = body, "sha256="+hmacHex(ghSecret, body)
	}
	var seq atomic.Int64
	hammer(b, "http://"+ln.Addr().String()+"/webhooks/github", len(template), func(h http.Header) []byte {
		i := seq.Add(1) - 1
		h["Content-Type"] = []string{"application/json"}
		h["X-Github-Event"] = []string{"push"}
		h["X-Github-Delivery"] = []string{"bench-" + strconv.FormatInt(i, 10)}
		h["X-Hub-Signature-256"] = []string{sigs[i]}
		return bodies[i]
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	if got := lastSeq(b, js); got < uint64(b.N) {
		b.Fatalf("stream holds %d messages after %d acknowledged webhooks", got, b.N)
	}
}

// BenchmarkHTTPFloor is the same load against a handler that only reads
// the body and answers 202: the ceiling HTTP alone allows on this machine.
func BenchmarkHTTPFloor(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	b.Cleanup(srv.Close)
	body := benchBody(b)
	hammer(b, srv.URL, len(body), func(h http.Header) []byte {
		h["Content-Type"] = []string{"application/json"}
		return body
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkPublishFloor: HMAC-SHA256 of the same body plus a synchronous
// JetStream publish with a message id, as many concurrent publishers, no HTTP.
func BenchmarkPublishFloor(b *testing.B) {
	_, _, js := startNATS(b)
	body := benchBody(b)
	var seq atomic.Int64
	b.SetBytes(int64(len(body)))
	b.SetParallelism(benchSenders)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			_ = hmacHex(ghSecret, body)
			id := jetstream.WithMsgID("floor-" + strconv.FormatInt(seq.Add(1), 10))
			if _, err := js.Publish(ctx, "ferry.git.push.floor", body[:1024], id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
}

// BenchmarkParseGitHub measures the push payload parser alone.
func BenchmarkParseGitHub(b *testing.B) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := parseGitHub(body); err != nil {
			b.Fatal(err)
		}
	}
}

// hammer POSTs to url from benchSenders×GOMAXPROCS goroutines over
// kept-alive connections, b.N times in all, expecting 202. next sets a
// request's headers and returns its body, of size bytes.
func hammer(b *testing.B, url string, size int, next func(http.Header) []byte) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
	}}
	b.Cleanup(client.CloseIdleConnections)
	b.SetBytes(int64(size))
	b.SetParallelism(benchSenders)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequest(http.MethodPost, url, nil)
			if err != nil {
				b.Error(err)
				return
			}
			body := next(req.Header)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
}

// benchBody is GitHub's sample push payload, compacted, without head_commit:
// about 6 KB.
func benchBody(b *testing.B) []byte {
	var m map[string]any
	if err := json.Unmarshal(fixture(b, "github-push.json"), &m); err != nil {
		b.Fatal(err)
	}
	delete(m, "head_commit")
	body, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return body
}
