package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Diff queries are limited per client address: each one has the
// cluster's worker dry-run the app against its API server, and a worker
// computes only a few at once, so one client refreshing in a loop would
// keep every operator's diffs waiting. A live page re-asks on each change
// of its app, well within the burst.
const (
	diffBurst  = 10
	diffRefill = 2 * time.Second
	// maxDiffClients bounds the addresses remembered.
	maxDiffClients = 10000
)

// diffThrottle holds a token bucket of diff queries per address.
type diffThrottle struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
	now     func() time.Time
}

// newDiffThrottle returns an empty throttle reading time from now.
func newDiffThrottle(now func() time.Time) *diffThrottle {
	return &diffThrottle{clients: map[string]*rate.Limiter{}, now: now}
}

// allow spends one diff query of addr, or reports that it has none left.
func (t *diffThrottle) allow(addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	l, ok := t.clients[addr]
	if !ok {
		if len(t.clients) >= maxDiffClients {
			t.forgetIdle(now)
		}
		l = rate.NewLimiter(rate.Every(diffRefill), diffBurst)
		t.clients[addr] = l
	}
	return l.AllowN(now, 1)
}

// forgetIdle drops the addresses whose bucket is full again; when none
// is, it starts over rather than grow.
func (t *diffThrottle) forgetIdle(now time.Time) {
	for addr, l := range t.clients {
		if l.TokensAt(now) >= diffBurst {
			delete(t.clients, addr)
		}
	}
	if len(t.clients) >= maxDiffClients {
		t.clients = map[string]*rate.Limiter{}
	}
}
