package alerter

import (
	"sync"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
)

// throttle is a token bucket per app: burst messages at once, then one per
// interval. It lives in memory; after a restart every app starts full.
type throttle struct {
	mu       sync.Mutex
	interval time.Duration
	burst    float64
	buckets  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newThrottle(t config.Throttle) *throttle {
	return &throttle{interval: t.Interval.D(), burst: float64(max(t.Burst, 1)), buckets: map[string]*bucket{}}
}

// take spends a token of key; when none is left it reports how long until one is.
func (t *throttle) take(key string, now time.Time) (ok bool, wait time.Duration) {
	if t.interval <= 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		b = &bucket{tokens: t.burst, last: now}
		t.buckets[key] = b
	}
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.last))/float64(t.interval))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(t.interval))
}

// refund returns a token taken for a message that did not go out.
func (t *throttle) refund(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.buckets[key]; b != nil {
		b.tokens = min(t.burst, b.tokens+1)
	}
}
