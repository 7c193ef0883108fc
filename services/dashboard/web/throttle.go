package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed operator logins are limited per client address, so the
// operator token cannot be guessed by trying: a few mistakes are free,
// then one try per loginRefill.
const (
	loginBurst  = 5
	loginRefill = 12 * time.Second
	// maxLoginClients bounds the addresses remembered.
	maxLoginClients = 10000
)

// loginThrottle holds a token bucket of failed logins per address.
type loginThrottle struct {
	mu      sync.Mutex
	clients map[string]*loginClient
	now     func() time.Time
}

// loginClient is one address's bucket and when it last failed.
type loginClient struct {
	limiter *rate.Limiter
	last    time.Time
}

// newLoginThrottle returns an empty throttle reading time from now.
func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{clients: map[string]*loginClient{}, now: now}
}

// wait returns how long addr must wait before it may try a login, zero
// when it may try now.
func (t *loginThrottle) wait(addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.clients[addr]
	if !ok {
		return 0
	}
	tokens := c.limiter.TokensAt(t.now())
	if tokens >= 1 {
		return 0
	}
	// One token accrues per loginRefill.
	need := (1 - tokens) * float64(loginRefill)
	return time.Duration(need).Round(time.Second) + time.Second
}

// failed spends one try of addr.
func (t *loginThrottle) failed(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	c, ok := t.clients[addr]
	if !ok {
		if len(t.clients) >= maxLoginClients {
			t.forgetIdle(now)
		}
		c = &loginClient{limiter: rate.NewLimiter(rate.Every(loginRefill), loginBurst)}
		t.clients[addr] = c
	}
	c.limiter.AllowN(now, 1)
	c.last = now
}

// forgetIdle drops the addresses whose bucket has refilled; when every
// address is still throttled, it starts over rather than grow.
func (t *loginThrottle) forgetIdle(now time.Time) {
	for addr, c := range t.clients {
		if now.Sub(c.last) > loginRefill*loginBurst {
			delete(t.clients, addr)
		}
	}
	if len(t.clients) >= maxLoginClients {
		clear(t.clients)
	}
}
