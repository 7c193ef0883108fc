package cluster

import (
	"testing"
	"time"
)

func TestHeartbeatRoundTripAndAlive(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := Heartbeat{
		Cluster: "prod", Version: "v1.2.3", SeenAt: now, StartedAt: now.Add(-time.Hour),
		Interval: Duration(10 * time.Second), Pending: 3,
		Apps: map[string]AppStatus{"web": {Revision: "abc", Digest: "sha256:1", AppliedAt: now, PinnedTo: "abc"}},
	}
	data, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	var got Heartbeat
	if err := Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Interval != h.Interval || got.Pending != 3 || got.Apps["web"].Revision != "abc" || !got.SeenAt.Equal(now) {
		t.Errorf("round trip: %s → %+v", data, got)
	}
	if !got.Alive(now.Add(25*time.Second), 3) || got.Alive(now.Add(31*time.Second), 3) {
		t.Errorf("Alive wrong around 3 intervals")
	}
	got.Stopped = true
	if got.Alive(now, 3) {
		t.Errorf("a stopped worker is alive")
	}
	if err := Decode([]byte(`{"interval":"soon"}`), &got); err == nil {
		t.Errorf("bad interval accepted")
	}
}
