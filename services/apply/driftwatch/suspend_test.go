package driftwatch

import (
	"sync/atomic"
	"testing"
)

// A suspended app's drift is reported, says so, and is left in place; the
// held corrections do not count toward the fight limit, so healing works
// at once when the app is resumed.
func TestSuspendedAppDriftReportedNotHealed(t *testing.T) {
	var suspended atomic.Bool
	suspended.Store(true)
	e := newEnv(t, Options{FightLimit: 1, Suspended: func(app string) bool {
		return app == "shop" && suspended.Load()
	}}, true, nil)

	for i, n := range []int{7, 8} {
		e.patchReplicas(n)
		ev := e.next("hotfix while suspended")
		if ev.GetCorrected() || !ev.GetSuspended() || ev.GetFighting() {
			t.Fatalf("hotfix %d: corrected=%v suspended=%v fighting=%v, want only suspended",
				i, ev.GetCorrected(), ev.GetSuspended(), ev.GetFighting())
		}
		// The event is published after the heal decision: a heal would
		// already have been applied.
		if got := e.replicas(); got != int32(n) {
			t.Fatalf("replicas = %d after the drift event, want the hotfix %d kept", got, n)
		}
	}

	suspended.Store(false)
	e.patchReplicas(9)
	ev := e.next("change after resume")
	if !ev.GetCorrected() || ev.GetSuspended() || ev.GetFighting() {
		t.Fatalf("after resume: corrected=%v suspended=%v fighting=%v, want corrected",
			ev.GetCorrected(), ev.GetSuspended(), ev.GetFighting())
	}
	if got := e.replicas(); got != 1 {
		t.Errorf("replicas = %d after self-heal, want 1", got)
	}
}
