package fleet

import (
	"strings"
	"testing"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// The drift line says what happened from the event's typed fields: a
// suspended app's drift is held, not "not corrected" like selfHeal off.
func TestDriftSummaryStates(t *testing.T) {
	obj := []*ferryv1.DriftedObject{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Name: "web"}}}
	for _, c := range []struct {
		ev   *ferryv1.DriftEvent
		want string
	}{
		{&ferryv1.DriftEvent{Objects: obj}, "not corrected"},
		{&ferryv1.DriftEvent{Objects: obj, Corrected: true}, "reverted by self-heal"},
		{&ferryv1.DriftEvent{Objects: obj, Fighting: true}, "self-heal stopped"},
		{&ferryv1.DriftEvent{Objects: obj, Suspended: true}, "held: the app is suspended"},
	} {
		if got := DriftSummary(c.ev); !strings.HasSuffix(got, c.want) && !strings.Contains(got, c.want) {
			t.Errorf("DriftSummary(%v) = %q, want it to say %q", c.ev, got, c.want)
		}
	}
}
