package web

import (
	"testing"

	"github.com/ferrycd/ferry/pkg/fleet"
)

// TestHubSlowSubscriber: a subscriber that does not read never blocks
// publish; the others still get every event, the slow one keeps the
// first subBuffer, and close ends both streams and refuses new ones.
func TestHubSlowSubscriber(t *testing.T) {
	h := newHub()
	slow, fast := h.subscribe(fleet.Filter{}), h.subscribe(fleet.Filter{App: "web"})
	for i := range subBuffer + 10 {
		h.publish(fleet.Event{App: "web", Cluster: "prod", Seq: uint64(i)})
		if ev := <-fast.ch; ev.Seq != uint64(i) {
			t.Fatalf("fast subscriber got seq %d, want %d", ev.Seq, i)
		}
	}
	h.publish(fleet.Event{App: "other"}) // past the fast one's filter, into the full slow one
	if n := len(slow.ch); n != subBuffer {
		t.Fatalf("slow subscriber holds %d events, want %d", n, subBuffer)
	}
	if ev := <-slow.ch; ev.Seq != 0 {
		t.Errorf("slow subscriber's first event is seq %d, want the oldest kept", ev.Seq)
	}
	h.close()
	for range slow.ch {
	}
	if _, ok := <-fast.ch; ok {
		t.Error("close left a stream open")
	}
	if h.subscribe(fleet.Filter{}) != nil || h.count() != 0 {
		t.Error("a closed hub took a subscriber")
	}
	h.unsubscribe(slow) // after close: no double close
}
