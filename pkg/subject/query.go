package subject

import "strings"

// Names of the read side: request/reply queries a CLI or dashboard sends
// to a cluster's worker, and the trace spans services publish so a push
// can be followed end to end without a tracing backend.

// StreamTraces holds finished spans, one subject per trace.
const StreamTraces = "FERRY_TRACES"

// prefixQuery and prefixTrace are the subject prefixes of queries and spans.
const (
	prefixQuery = "ferry.query"
	prefixTrace = "ferry.trace"
)

// AllTraces matches every span.
const AllTraces = prefixTrace + ".>"

// QueryDiff is the query verb asking a worker for a live vs desired diff.
const QueryDiff = "diff"

// Query is the core NATS request subject of one query verb answered by
// cluster's worker, e.g. ferry.query.prod.diff. It is not stored: with no
// worker listening the request fails at once (no responders).
func Query(cluster, verb string) string { return prefixQuery + "." + cluster + "." + verb }

// QueriesForCluster matches every query to cluster's worker.
func QueriesForCluster(cluster string) string { return prefixQuery + "." + cluster + ".>" }

// Span is the subject a process publishes its spans of one trace (32 hex
// digits) on: ferry.trace.<trace-id>.<origin>. The origin names who
// published them and is what NATS permissions check, so an apply worker,
// which may only publish as WorkerSpanOrigin of its cluster, cannot pass
// its spans off as another service's.
func Span(traceID, origin string) string { return prefixTrace + "." + traceID + "." + origin }

// TraceSpans matches every span of one trace, from every origin.
func TraceSpans(traceID string) string { return prefixTrace + "." + traceID + ".>" }

// Trace is the subject spans of one trace had before they named their
// origin; readers still read it for spans stored then.
func Trace(traceID string) string { return prefixTrace + "." + traceID }

// WorkerSpanOrigin is the origin of the spans of cluster's apply worker
// (two subject tokens: apply.<cluster>).
func WorkerSpanOrigin(cluster string) string { return "apply." + cluster }

// WorkerSpanCluster returns the cluster of a WorkerSpanOrigin, and
// false for any other origin.
func WorkerSpanCluster(origin string) (string, bool) {
	cluster, ok := strings.CutPrefix(origin, "apply.")
	return cluster, ok && cluster != ""
}

// WorkerSpans matches the spans cluster's apply worker may publish, in
// any trace.
func WorkerSpans(cluster string) string { return prefixTrace + ".*." + WorkerSpanOrigin(cluster) }

// SpanOrigin returns the origin of a span's subject, "" for the
// subject of a span stored before spans named their origin.
func SpanOrigin(subj string) string {
	rest, ok := strings.CutPrefix(subj, prefixTrace+".")
	if !ok {
		return ""
	}
	_, origin, _ := strings.Cut(rest, ".")
	return origin
}

// Subject filters for readers (the CLI, the dashboard) that select apps
// and clusters; an empty cluster or app matches every one.

// DesiredMatching matches the desired states of app in cluster.
func DesiredMatching(cluster, app string) string { return matching(prefixDesired, cluster, app) }

// StatusMatching matches the sync results of app in cluster.
func StatusMatching(cluster, app string) string { return matching(prefixStatus, cluster, app) }

// DriftMatching matches the drift events of app in cluster.
func DriftMatching(cluster, app string) string { return matching(prefixDrift, cluster, app) }

// CommandsMatching matches every verb of the commands for app in cluster.
func CommandsMatching(cluster, app string) string { return matching(prefixCmd, cluster, app) + ".*" }

func matching(prefix, cluster, app string) string {
	if cluster == "" {
		cluster = "*"
	}
	if app == "" {
		app = "*"
	}
	return prefix + "." + cluster + "." + app
}
