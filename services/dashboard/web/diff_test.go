package web

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// answerDiffs answers prod's diff queries as its worker would and counts
// them.
func answerDiffs(t *testing.T, e *env) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	nc := e.js.Conn()
	sub, err := nc.Subscribe(subject.QueriesForCluster("prod"), func(m *nats.Msg) {
		n.Add(1)
		data, _ := proto.Marshal(&ferryv1.DiffResponse{App: "web", Cluster: "prod", Revision: rev1})
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestDiffIsForOperators: a visitor sees the diff page without asking
// the worker; an operator's diffs reach it, at a bounded rate.
func TestDiffIsForOperators(t *testing.T) {
	t.Run("read-only dashboard", func(t *testing.T) {
		e := start(t, DefaultOptions())
		asked := answerDiffs(t, e)
		code, body := e.get(e.client(), "/apps/web/diff/prod")
		if code != http.StatusOK {
			t.Fatalf("GET diff = %d\n%s", code, body)
		}
		mustContain(t, "read-only diff", body, "for operators", "read-only")
		mustLack(t, "read-only diff", body, "No objects.")
		if asked.Load() != 0 {
			t.Errorf("a read-only visitor asked the worker %d times", asked.Load())
		}
	})

	opts := DefaultOptions()
	opts.OperatorToken = testToken
	e := start(t, opts)
	e.heartbeat("prod", map[string]cluster.AppStatus{"web": {Revision: rev1}})
	asked := answerDiffs(t, e)
	// The clock stands still, so no query is refilled during the test.
	at := time.Now()
	e.srv.diffs.mu.Lock()
	e.srv.diffs.now = func() time.Time { return at }
	e.srv.diffs.mu.Unlock()

	t.Run("not logged in", func(t *testing.T) {
		code, body := e.get(e.client(), "/apps/web/diff/prod")
		if code != http.StatusOK {
			t.Fatalf("GET diff = %d\n%s", code, body)
		}
		mustContain(t, "logged-out diff", body, "for operators", `href="/login?next=/apps/web/diff/prod"`)
		if asked.Load() != 0 {
			t.Errorf("a visitor asked the worker %d times", asked.Load())
		}
	})

	t.Run("operator, rate-limited", func(t *testing.T) {
		c := e.client()
		e.login(c, "ada")
		code, body := e.get(c, "/apps/web/diff/prod")
		if code != http.StatusOK {
			t.Fatalf("GET diff = %d\n%s", code, body)
		}
		mustContain(t, "operator's diff", body, "No objects.", "1111111")
		for i := 1; i < diffBurst; i++ {
			if code, body := e.get(c, "/apps/web/diff/prod"); code != http.StatusOK {
				t.Fatalf("diff %d of the burst = %d\n%s", i+1, code, body)
			}
		}
		code, body = e.get(c, "/apps/web/diff/prod")
		if code != http.StatusTooManyRequests {
			t.Fatalf("diff past the burst = %d, want 429\n%s", code, body)
		}
		mustContain(t, "throttled diff", body, "too many diffs")
		if got := asked.Load(); got != diffBurst {
			t.Errorf("the worker was asked %d times, want %d", got, diffBurst)
		}
	})
}

// TestDiffThrottlePerAddress: one address's burst leaves another's
// alone, and refills with time.
func TestDiffThrottlePerAddress(t *testing.T) {
	now := time.Now()
	th := newDiffThrottle(func() time.Time { return now })
	for i := range diffBurst {
		if !th.allow("10.0.0.1") {
			t.Fatalf("query %d of the burst refused", i+1)
		}
	}
	if th.allow("10.0.0.1") {
		t.Error("query past the burst allowed")
	}
	if !th.allow("10.0.0.2") {
		t.Error("another address refused")
	}
	now = now.Add(diffRefill)
	if !th.allow("10.0.0.1") {
		t.Error("refused after a refill")
	}
	if th.allow("10.0.0.1") {
		t.Error("two queries allowed after one refill")
	}
}
