package commitstatus

import (
	"strings"
	"testing"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestResultState: each sync outcome maps to the commit state a Git host
// shows; a held revision stays pending (resume or unpin may apply it),
// a superseded one is final.
func TestResultState(t *testing.T) {
	cases := []struct {
		res      *ferryv1.SyncResult
		state    State
		contains string
	}{
		{&ferryv1.SyncResult{Cluster: "prod", Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY}, StateSuccess, "synced to prod"},
		{&ferryv1.SyncResult{Cluster: "prod", Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_DEGRADED}, StateFailure, "degraded"},
		{&ferryv1.SyncResult{Cluster: "prod", Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_PROGRESSING}, StateRunning, "waiting for health"},
		{&ferryv1.SyncResult{Cluster: "prod", Phase: ferryv1.Phase_PHASE_FAILED, Message: "dry run failed"}, StateFailure, "dry run failed"},
		{&ferryv1.SyncResult{Cluster: "prod", Phase: ferryv1.Phase_PHASE_SUPERSEDED}, StateCanceled, "superseded"},
		{&ferryv1.SyncResult{Cluster: "prod", Phase: ferryv1.Phase_PHASE_HELD,
			Message: "not applied: automated sync of web suspended by ada since 2026-12-02T05:00:00Z; resume to apply"},
			StatePending, "held on prod: automated sync of web suspended by ada"},
	}
	for _, tc := range cases {
		st, desc := resultState(tc.res)
		if st != tc.state || !strings.Contains(desc, tc.contains) {
			t.Errorf("%s/%s = %s %q, want %s containing %q", tc.res.GetPhase(), tc.res.GetHealth(), st, desc, tc.state, tc.contains)
		}
	}
	if st, _ := resultState(&ferryv1.SyncResult{Phase: ferryv1.Phase_PHASE_HELD}); st.Final() {
		t.Error("a held revision's state is final; resuming could never report it")
	}
}
