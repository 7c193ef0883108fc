package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Status colours, as CSS classes: ok (green: synced, healthy), progress
// (blue: syncing, progressing), warn (amber: drifted, pending), bad (red:
// failed, degraded), unknown (grey).
const (
	clsOK       = "ok"
	clsProgress = "progress"
	clsWarn     = "warn"
	clsBad      = "bad"
	clsUnknown  = "unknown"
)

// severity orders the classes from best to worst, for a cell's border.
var severity = map[string]int{clsOK: 0, clsUnknown: 1, clsProgress: 2, clsWarn: 3, clsBad: 4}

func syncClass(s fleet.Sync) string {
	switch s {
	case fleet.SyncSynced:
		return clsOK
	case fleet.SyncSyncing:
		return clsProgress
	case fleet.SyncPending:
		return clsWarn
	case fleet.SyncFailed, fleet.SyncRenderFailed:
		return clsBad
	}
	return clsUnknown
}

func healthClass(h ferryv1.Health) string {
	switch h {
	case ferryv1.Health_HEALTH_HEALTHY:
		return clsOK
	case ferryv1.Health_HEALTH_PROGRESSING:
		return clsProgress
	case ferryv1.Health_HEALTH_DEGRADED:
		return clsBad
	}
	return clsUnknown
}

func phaseClass(p ferryv1.Phase) string {
	switch p {
	case ferryv1.Phase_PHASE_SUCCEEDED:
		return clsOK
	case ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_RENDER_FAILED:
		return clsBad
	case ferryv1.Phase_PHASE_HELD:
		return clsWarn
	}
	return clsUnknown
}

func actionClass(a ferryv1.Action) string {
	switch a {
	case ferryv1.Action_ACTION_CREATED, ferryv1.Action_ACTION_CONFIGURED:
		return clsProgress
	case ferryv1.Action_ACTION_UNCHANGED:
		return clsOK
	case ferryv1.Action_ACTION_DELETED:
		return clsWarn
	case ferryv1.Action_ACTION_FAILED:
		return clsBad
	}
	return clsUnknown
}

// cellClass is the worst of a deployment's sync, health and drift.
func cellClass(d *fleet.Deployment) string {
	worst := syncClass(d.Sync)
	for _, c := range []string{healthClass(d.Health), driftClass(d)} {
		if severity[c] > severity[worst] {
			worst = c
		}
	}
	return worst
}

func driftClass(d *fleet.Deployment) string {
	if d.Drifted {
		return clsWarn
	}
	return clsOK
}

// resultClass colours a command's answer or failure.
func resultClass(r *commandResult) string {
	switch {
	case r.Err != "":
		return clsBad
	case r.Result == nil || r.Result.GetAwaitingHealth():
		return clsProgress
	case fleet.Rejected(r.Result):
		return clsBad // the worker refused the command
	case r.Result.GetPhase() == ferryv1.Phase_PHASE_UNSPECIFIED:
		return clsOK // a control changed, nothing applied
	case r.Result.GetPhase() == ferryv1.Phase_PHASE_SUCCEEDED && r.Result.GetHealth() == ferryv1.Health_HEALTH_DEGRADED:
		return clsWarn // applied, but not healthy
	}
	return phaseClass(r.Result.GetPhase())
}

// age is how long ago t was, in the largest unit that fits: 12s, 5m, 3h, 2d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// stamp is t in UTC for a tooltip or a table.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// unixNano turns a proto timestamp into a time, zero for 0.
func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// diffLine is one line of a unified diff with its CSS class.
type diffLine struct{ Class, Text string }

func diffLines(diff string) []diffLine {
	lines := strings.Split(strings.TrimRight(diff, "\n"), "\n")
	out := make([]diffLine, 0, len(lines))
	for _, l := range lines {
		c := ""
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			c = "hdr"
		case strings.HasPrefix(l, "@@"):
			c = "hunk"
		case strings.HasPrefix(l, "+"):
			c = "add"
		case strings.HasPrefix(l, "-"):
			c = "del"
		}
		out = append(out, diffLine{c, l})
	}
	return out
}

// actionForm is one operator button: a form posting a command.
type actionForm struct {
	Session                             *session
	App, Cluster, Verb, Revision, Label string
}

func newAction(s *session, app, cluster, verb, revision, label string) actionForm {
	return actionForm{Session: s, App: app, Cluster: cluster, Verb: verb, Revision: revision, Label: label}
}

// funcs are the template functions.
func funcs() template.FuncMap {
	return template.FuncMap{
		"short":       fleet.Short,
		"syncClass":   syncClass,
		"healthClass": healthClass,
		"healthName":  fleet.HealthName,
		"phaseClass":  phaseClass,
		"phaseName":   fleet.PhaseName,
		"actionClass": actionClass,
		"actionName":  fleet.ActionName,
		"objectName":  fleet.ObjectName,
		"cellClass":   cellClass,
		"resultClass": resultClass,
		"age":         age,
		"stamp":       stamp,
		"unixNano":    unixNano,
		"diffLines":   diffLines,
		"firstLine":   fleet.FirstLine,
		"unixSec":     func(n int64) time.Time { return time.Unix(n, 0) },
		"verbName":    fleet.VerbName,
		"act":         newAction,
		"statusText":  http.StatusText,
		"dur":         func(d cluster.Duration) string { return time.Duration(d).String() },
	}
}
