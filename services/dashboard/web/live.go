package web

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/subject"
)

// Live updates: the server follows Ferry's event streams once and fans
// every event out to the browsers that have a page open, as Server-Sent
// Events. A browser that gets an event re-fetches the changed part of its
// page from the server, so templates stay the only renderer.

// subBuffer is how many events wait for a slow browser. When it is full
// newer events are dropped: the waiting ones still make the page fetch
// the state that includes them.
const subBuffer = 64

// hub fans events out to subscribers.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

// subscriber is one open event stream.
type subscriber struct {
	filter fleet.Filter
	ch     chan fleet.Event
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

// subscribe returns a subscriber for events passing f, or nil when the hub is closed.
func (h *hub) subscribe(f fleet.Filter) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	s := &subscriber{filter: f, ch: make(chan fleet.Event, subBuffer)}
	h.subs[s] = struct{}{}
	return s
}

// unsubscribe forgets s.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// publish hands ev to every subscriber whose filter it passes, never
// blocking. A registry event passes every filter: each page shows the
// banner of a rejected ferry.yaml.
func (h *hub) publish(ev fleet.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if ev.Kind != fleet.KindRegistry && !s.filter.Match(ev.App, ev.Cluster) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
		}
	}
}

// close ends every stream and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

// count is how many streams are open.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// change is the data of one "change" event: enough for a page to decide
// what to re-fetch.
type change struct {
	Kind     string `json:"kind"`
	App      string `json:"app,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	Revision string `json:"revision,omitempty"`
}

func changeOf(ev fleet.Event) change {
	c := change{Kind: ev.Kind, App: ev.App, Cluster: ev.Cluster}
	switch {
	case ev.Desired != nil:
		c.Revision = ev.Desired.GetRevision()
	case ev.Result != nil:
		c.Revision = ev.Result.GetRevision()
	case ev.Drift != nil:
		c.Revision = ev.Drift.GetRevision()
	case ev.Push != nil:
		c.Revision = ev.Push.GetAfter()
	case ev.Registry != nil:
		c.Revision = ev.Registry.GetRevision()
	}
	return c
}

// eventBlock is one SSE event named "change".
func eventBlock(ev fleet.Event) string {
	data, _ := json.Marshal(changeOf(ev)) // a struct of strings always encodes
	return "event: change\ndata: " + string(data) + "\n\n"
}

// writeDeadline bounds one write to a browser, so a stuck one is dropped.
const writeDeadline = 10 * time.Second

// events serves GET /events[?app=A&cluster=C] as a text/event-stream.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	f := fleet.Filter{App: r.URL.Query().Get("app"), Cluster: r.URL.Query().Get("cluster")}
	for _, n := range []string{f.App, f.Cluster} {
		if n != "" && subject.ValidateName(n) != nil {
			http.Error(w, "app and cluster must be DNS-1123 labels", http.StatusBadRequest)
			return
		}
	}
	sub := s.hub.subscribe(f)
	if sub == nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// send writes one block within writeDeadline, so a stuck browser is
	// dropped, and flushes it.
	send := func(block string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeDeadline))
		_, err := io.WriteString(w, block)
		return err == nil && rc.Flush() == nil
	}
	// retry: the browser reconnects after 2 s when the stream breaks.
	if !send("retry: 2000\n: connected\n\n") {
		return
	}
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-sub.ch:
			if !ok || !send(eventBlock(ev)) {
				return // !ok: the server is shutting down
			}
		case t := <-tick.C:
			if !send(": heartbeat " + t.UTC().Format(time.RFC3339) + "\n\n") {
				return
			}
		}
	}
}
