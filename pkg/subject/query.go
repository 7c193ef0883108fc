package subject

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

// Trace is the subject of the spans of one trace (32 hex digits).
func Trace(traceID string) string { return prefixTrace + "." + traceID }

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
