package webhook

import (
	"context"
	"sync"
)

// blockSize is the unit in which body memory is reserved, allocated and
// reused: a usual push webhook (a few KiB) takes one block.
const blockSize = 32 << 10

// bodyMem is all the memory webhook bodies are read into: at most total
// blocks of blockSize, allocated when first needed and reused after that,
// never given back to the garbage collector. A body is read before its
// HMAC can be checked, so without this bound anyone who can reach ingest
// could make it hold MaxBodyBytes per connection; and because the blocks
// are reused, unsigned junk read and refused leaves no garbage behind to
// grow the heap between collections either. Only a verified body larger
// than one block is copied out into an allocation of its own (body.bytes).
//
// Reservation is not FIFO: a small body that fits goes ahead of a large
// one waiting for room, so queued 25 MiB bodies do not hold back the usual
// one-block pushes. Waits are short (Options.InflightWait) and end in 503,
// which the Git host retries, so a large body is delayed, not lost.
type bodyMem struct {
	mu        sync.Mutex
	total     int      // blocks that may be reserved at once
	used      int      // blocks reserved
	allocated int      // blocks ever made; never more than total
	free      [][]byte // allocated blocks not in use, for reuse
	// waiters is how many reserves are blocked; release only wakes them
	// (and makes a new channel) when there are some.
	waiters int
	wake    chan struct{}
}

// newBodyMem bounds body memory to size bytes, rounded up to a block.
func newBodyMem(size int64) *bodyMem {
	return &bodyMem{total: int(max(1, (size+blockSize-1)/blockSize)), wake: make(chan struct{})}
}

// blocksFor is how many blocks n bytes take.
func blocksFor(n int64) int { return int((n + blockSize - 1) / blockSize) }

// tryReserve reserves n blocks if they are free now.
func (m *bodyMem) tryReserve(n int) bool {
	n = min(n, m.total)
	m.mu.Lock()
	ok := m.used+n <= m.total
	if ok {
		m.used += n
	}
	m.mu.Unlock()
	return ok
}

// reserve reserves n blocks, waiting until they are free or ctx is done,
// and reports whether it did. n is at most total (Options validation
// guarantees MaxBodyBytes fits); a larger n is taken as the whole.
func (m *bodyMem) reserve(ctx context.Context, n int) bool {
	n = min(n, m.total)
	m.mu.Lock()
	for m.used+n > m.total {
		wake := m.wake
		m.waiters++
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			m.mu.Lock()
			m.waiters--
			m.mu.Unlock()
			return false
		}
		m.mu.Lock()
		m.waiters--
	}
	m.used += n
	m.mu.Unlock()
	return true
}

// get returns a block of blockSize bytes, reused when one is free. The
// caller must hold a reservation for it.
func (m *bodyMem) get() []byte {
	m.mu.Lock()
	if n := len(m.free); n > 0 {
		b := m.free[n-1]
		m.free[n-1] = nil
		m.free = m.free[:n-1]
		m.mu.Unlock()
		return b
	}
	// Every block made is free or got under a reservation, and there are
	// at most total reservations: more is a bug, not a load.
	if m.allocated++; m.allocated > m.total {
		m.mu.Unlock()
		panic("webhook: body block got without a reservation")
	}
	m.mu.Unlock()
	return make([]byte, blockSize)
}

// release ends a reservation of n blocks and keeps blocks, the ones got
// under it, for reuse.
func (m *bodyMem) release(n int, blocks [][]byte) {
	n = min(n, m.total)
	m.mu.Lock()
	m.free = append(m.free, blocks...)
	m.used -= n
	if m.used < 0 {
		m.mu.Unlock()
		panic("webhook: body memory released more than was reserved")
	}
	if m.waiters > 0 {
		close(m.wake)
		m.wake = make(chan struct{})
	}
	m.mu.Unlock()
}

// stats returns the blocks reserved and the blocks allocated, for tests.
func (m *bodyMem) stats() (reserved, allocated int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used, m.allocated
}
