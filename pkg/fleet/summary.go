package fleet

import (
	"cmp"
	"fmt"
	"strings"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Short is a commit id cut to seven characters, as git prints it.
func Short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

// shortDigest is "sha256:" and the first twelve hex digits.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// Rejected reports whether res is a worker's answer refusing a command
// (a note whose message starts with "rejected", as the worker words it).
func Rejected(res *ferryv1.SyncResult) bool {
	return res.GetPhase() == ferryv1.Phase_PHASE_UNSPECIFIED && strings.HasPrefix(res.GetMessage(), "rejected")
}

// PhaseName is a phase in lowercase words: "succeeded", "render failed".
func PhaseName(p ferryv1.Phase) string {
	if p == ferryv1.Phase_PHASE_UNSPECIFIED {
		return "note"
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(p.String(), "PHASE_")), "_", " ")
}

// HealthName is a health in lowercase: "healthy", "degraded".
func HealthName(h ferryv1.Health) string {
	return strings.ToLower(strings.TrimPrefix(h.String(), "HEALTH_"))
}

// VerbName is a command verb in lowercase: "rollback".
func VerbName(v ferryv1.Verb) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), "VERB_"))
}

// FirstLine is the first line of s, trimmed: a commit's subject.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// ActionName is an object action in lowercase: "created", "configured".
func ActionName(a ferryv1.Action) string {
	if a == ferryv1.Action_ACTION_UNSPECIFIED {
		return "-"
	}
	return strings.ToLower(strings.TrimPrefix(a.String(), "ACTION_"))
}

// ObjectName is kind/namespace/name, or kind/name for cluster-scoped objects.
func ObjectName(r *ferryv1.ObjectRef) string {
	if r.GetNamespace() == "" {
		return r.GetKind() + "/" + r.GetName()
	}
	return r.GetKind() + "/" + r.GetNamespace() + "/" + r.GetName()
}

// Actions counts res's objects per action: "2 created, 1 configured".
func Actions(res *ferryv1.SyncResult) string {
	counts := map[ferryv1.Action]int{}
	for _, o := range res.GetObjects() {
		counts[o.GetAction()]++
	}
	var parts []string
	for a := ferryv1.Action_ACTION_CREATED; a <= ferryv1.Action_ACTION_SKIPPED; a++ {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, ActionName(a)))
		}
	}
	return strings.Join(parts, ", ")
}

// ResultSummary is one line about res: revision, phase, health, actions
// and message.
func ResultSummary(res *ferryv1.SyncResult) string {
	var b strings.Builder
	if res.GetRevision() != "" {
		b.WriteString(Short(res.GetRevision()) + " ")
	}
	b.WriteString(PhaseName(res.GetPhase()))
	if res.GetAwaitingHealth() {
		b.WriteString(", applied, awaiting health")
	} else if h := res.GetHealth(); h != ferryv1.Health_HEALTH_UNKNOWN {
		b.WriteString(", " + HealthName(h))
	}
	if a := Actions(res); a != "" {
		b.WriteString(" (" + a + ")")
	}
	if m := res.GetMessage(); m != "" {
		b.WriteString(": " + FirstLine(m))
	}
	return b.String()
}

// DriftSummary is one line about ev: which objects drifted, who changed
// them and whether Ferry corrected them.
func DriftSummary(ev *ferryv1.DriftEvent) string {
	var objs []string
	for i, o := range ev.GetObjects() {
		if i == 3 {
			objs = append(objs, fmt.Sprintf("and %d more", len(ev.GetObjects())-3))
			break
		}
		s := ObjectName(o.GetRef())
		switch {
		case o.GetDeleted():
			s += " deleted"
		case o.GetChangedBy() != "":
			s += " changed by " + o.GetChangedBy()
		}
		objs = append(objs, s)
	}
	state := "not corrected"
	switch {
	case ev.GetCorrected():
		state = "reverted by self-heal"
	case ev.GetFighting():
		state = "self-heal stopped: another writer keeps reverting"
	case ev.GetSuspended():
		state = "held: the app is suspended; ferry resume reverts it"
	}
	return fmt.Sprintf("%s %d drifted (%s), %s", cmp.Or(Short(ev.GetRevision()), "-"), len(ev.GetObjects()), strings.Join(objs, "; "), state)
}
