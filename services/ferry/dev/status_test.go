package dev

import (
	"strings"
	"testing"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestStatusLine: each kind of result reads as what happened, and only
// failures carry the failure mark.
func TestStatusLine(t *testing.T) {
	rev := "beeb54a9c0ffee0000000000000000000000000"
	cases := []struct {
		res  *ferryv1.SyncResult
		want string
	}{
		{&ferryv1.SyncResult{App: "gb", Cluster: "local", Message: "automated sync suspended (suspend requested by ada)"},
			"· gb → local: automated sync suspended"},
		{&ferryv1.SyncResult{App: "gb", Cluster: "local", Message: "rejected: no revision abc in the history"},
			"✗ gb → local: rejected: no revision abc"},
		{&ferryv1.SyncResult{App: "gb", Cluster: "local", Revision: rev, Phase: ferryv1.Phase_PHASE_HELD, Message: "not applied: suspended"},
			"· held gb → local @ beeb54a9: not applied: suspended"},
		{&ferryv1.SyncResult{App: "gb", Cluster: "local", Revision: rev, Phase: ferryv1.Phase_PHASE_SUPERSEDED, Message: "a newer revision arrived"},
			"· superseded gb → local @ beeb54a9"},
		{&ferryv1.SyncResult{App: "gb", Cluster: "local", Revision: rev, Phase: ferryv1.Phase_PHASE_FAILED, Message: "dry run failed"},
			"✗ failed gb → local @ beeb54a9: dry run failed"},
	}
	for _, tc := range cases {
		if got := statusLine(tc.res); !strings.HasPrefix(got, tc.want) {
			t.Errorf("statusLine(%s %q) = %q, want it to start with %q", tc.res.GetPhase(), tc.res.GetMessage(), got, tc.want)
		}
	}
}
