package renderer

import (
	"container/list"
	"sync"
	"sync/atomic"

	"github.com/ferrycd/ferry/services/render/source"
)

// record is what render remembers of the last render of one app ×
// destination: the revision it covers and what its inputs looked like.
type record struct {
	rev    string             // newest revision the output is known to hold for
	params string             // renderKey of the destination then
	obs    source.Observation // the inputs as seen at rev
}

// output is one render's result, reusable for any tree where the same
// inputs look the same.
type output struct {
	tool string
	data []byte
	err  error // a *source.Error, already redacted
}

// state holds the per-target records and the rendered-output cache.
type state struct {
	mu      sync.Mutex
	records map[string]*record // by targetID

	cache *outputCache

	renders, hits, skips, unchanged atomic.Int64
}

func newState(cacheBytes int64) *state {
	return &state{records: map[string]*record{}, cache: newOutputCache(cacheBytes)}
}

// Counters is what render did since start, for tests and benchmarks.
type Counters struct {
	// Renders is how many times a tool ran.
	Renders int64
	// CacheHits is how many renders were served from the output cache.
	CacheHits int64
	// Skips is how many targets a push did not touch.
	Skips int64
	// Unchanged is how many rendered states were not published because
	// the subject's last desired state has the same digest.
	Unchanged int64
}

func (s *state) counters() Counters {
	return Counters{Renders: s.renders.Load(), CacheHits: s.hits.Load(), Skips: s.skips.Load(), Unchanged: s.unchanged.Load()}
}

func targetID(t target) string { return t.entry.Name + "/" + t.dest.Cluster }

func (s *state) record(t target) *record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[targetID(t)]
}

func (s *state) setRecord(t target, r *record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[targetID(t)] = r
}

// advance notes that the output of t's record also holds at rev.
func (s *state) advance(t target, rev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[targetID(t)]; r != nil {
		next := *r
		next.rev = rev
		s.records[targetID(t)] = &next
	}
}

func (s *state) forget(app, cluster string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, app+"/"+cluster)
}

// outputCache is an LRU of rendered outputs bounded by their total size,
// keyed by (inputs observation key, render parameters).
type outputCache struct {
	mu       sync.Mutex
	max, cur int64
	order    *list.List // front = most recent; values are *cacheEntry
	byKey    map[string]*list.Element
}

type cacheEntry struct {
	key string
	out output
}

func newOutputCache(maxBytes int64) *outputCache {
	return &outputCache{max: maxBytes, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *outputCache) get(key string) (output, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return output{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).out, true
}

func (c *outputCache) put(key string, out output) {
	size := int64(len(out.data)) + int64(len(key))
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.cur -= int64(len(el.Value.(*cacheEntry).out.data)) + int64(len(key))
		el.Value = &cacheEntry{key: key, out: out}
		c.order.MoveToFront(el)
	} else {
		c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, out: out})
	}
	c.cur += size
	for c.cur > c.max {
		el := c.order.Back()
		e := el.Value.(*cacheEntry)
		c.order.Remove(el)
		delete(c.byKey, e.key)
		c.cur -= int64(len(e.out.data)) + int64(len(e.key))
	}
}
