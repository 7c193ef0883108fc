package alerter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/incident"
	"github.com/ferrycd/ferry/services/drift/repourl"
)

// maxStoredDiff bounds the diff kept in incident state; messages show less.
const maxStoredDiff = 4096

// traceID returns the W3C trace id carried by ctx, or "".
func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.TraceID().IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// observeDrift reduces a drift event: uncorrected drift opens or repeats a
// drift incident; corrected drift resolves it (or is a one-off notice);
// an event with no objects left says the app is back in sync.
func observeDrift(ev *ferryv1.DriftEvent) incident.Observation {
	o := incident.Observation{
		Cluster: ev.GetCluster(), App: ev.GetApp(), Revision: ev.GetRevision(), RepoURL: ev.GetRepoUrl(),
		At: unixNano(ev.GetDetectedUnixNano()),
	}
	if len(ev.GetObjects()) == 0 {
		o.Resolves, o.Reason = []incident.Kind{incident.KindDrift}, "live state matches the desired state again"
		return o
	}
	o.Kind, o.Severity = incident.KindDrift, config.SeverityWarning
	deleted := 0
	var diff strings.Builder
	for _, d := range ev.GetObjects() {
		ref := refString(d.GetRef())
		o.Objects = append(o.Objects, incident.Object{Ref: ref, ChangedBy: d.GetChangedBy(), Deleted: d.GetDeleted()})
		if d.GetDeleted() {
			deleted++
		}
		if d.GetDiff() != "" && diff.Len() < maxStoredDiff {
			fmt.Fprintf(&diff, "--- %s\n%s\n", ref, strings.TrimRight(d.GetDiff(), "\n"))
		}
	}
	o.Summary = fmt.Sprintf("%d object(s) drifted", len(o.Objects))
	if deleted > 0 {
		o.Summary += fmt.Sprintf(", %d deleted", deleted)
	}
	o.Diff = clip(diff.String(), maxStoredDiff)
	if ev.GetFighting() {
		// Only a new revision (a successful sync) ends a fight.
		o.Kind, o.Severity = incident.KindFighting, config.SeverityError
		o.Summary = "self-heal stopped: another writer keeps reverting Ferry's corrections; " + o.Summary
		return o
	}
	if ev.GetSuspended() {
		o.Summary += ", held: the app is suspended"
	}
	if ev.GetCorrected() {
		o.OneShot, o.Severity = true, config.SeverityInfo
		o.Resolves, o.Reason = []incident.Kind{incident.KindDrift}, "drift corrected by self-heal"
		o.Summary += ", corrected"
	}
	return o
}

// observeResult reduces a sync result: failures open "failed", a degraded
// app opens "degraded", success resolves what it proves fixed. ok is false
// for results that say nothing about incidents (superseded).
func observeResult(res *ferryv1.SyncResult) (o incident.Observation, ok bool) {
	o = incident.Observation{
		Cluster: res.GetCluster(), App: res.GetApp(), Revision: res.GetRevision(), RepoURL: res.GetRepoUrl(),
		At: unixNano(res.GetFinishedUnixNano()),
	}
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_RENDER_FAILED:
		o.Kind, o.Severity = incident.KindFailed, config.SeverityError
		o.Summary = res.GetMessage()
		if res.GetPhase() == ferryv1.Phase_PHASE_RENDER_FAILED {
			o.Summary = "render failed: " + o.Summary
		}
		if res.GetFile() != "" {
			o.Summary += " (" + res.GetFile() + ")"
		}
		o.Objects = objectsWhere(res, func(r *ferryv1.ObjectResult) bool { return r.GetAction() == ferryv1.Action_ACTION_FAILED })
	case ferryv1.Phase_PHASE_SUCCEEDED:
		sha := repourl.Short(res.GetRevision())
		switch res.GetHealth() {
		case ferryv1.Health_HEALTH_DEGRADED:
			o.Kind, o.Severity = incident.KindDegraded, config.SeverityWarning
			o.Objects = objectsWhere(res, func(r *ferryv1.ObjectResult) bool { return r.GetHealth() == ferryv1.Health_HEALTH_DEGRADED })
			o.Summary = fmt.Sprintf("%d object(s) degraded after sync", len(o.Objects))
			if res.GetMessage() != "" {
				o.Summary += ": " + res.GetMessage()
			}
			o.Resolves, o.Reason = []incident.Kind{incident.KindFailed}, "synced "+sha
		case ferryv1.Health_HEALTH_HEALTHY:
			o.Resolves = []incident.Kind{incident.KindFailed, incident.KindDegraded, incident.KindDrift, incident.KindFighting}
			o.Reason = "synced " + sha + " and healthy"
		default:
			o.Resolves, o.Reason = []incident.Kind{incident.KindFailed}, "synced "+sha
		}
	default:
		return o, false
	}
	return o, true
}

func objectsWhere(res *ferryv1.SyncResult, keep func(*ferryv1.ObjectResult) bool) []incident.Object {
	var out []incident.Object
	for _, r := range res.GetObjects() {
		if keep(r) {
			ref := refString(r.GetRef())
			if r.GetMessage() != "" {
				ref += ": " + clip(r.GetMessage(), 200)
			}
			out = append(out, incident.Object{Ref: ref})
		}
	}
	return out
}

// refString reads like kubectl: "Deployment.apps guestbook/web".
func refString(r *ferryv1.ObjectRef) string {
	kind := r.GetKind()
	if r.GetGroup() != "" {
		kind += "." + r.GetGroup()
	}
	if r.GetNamespace() != "" {
		return kind + " " + r.GetNamespace() + "/" + r.GetName()
	}
	return kind + " " + r.GetName()
}

func unixNano(n int64) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
