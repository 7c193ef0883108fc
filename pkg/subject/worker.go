package subject

// Names an apply worker uses besides its desired, status and drift
// subjects: its consumers, command verbs and replies, its KV keys and the
// inbox prefix its NATS credentials are limited to.

// BucketAppState holds the operator's controls per app (rollback pins and
// suspended automated sync), one key per cluster, so they survive a
// worker restart.
const BucketAppState = "ferry-app-state"

// Verb tokens, the last token of a command subject (see Command).
const (
	// VerbSync re-applies an app's desired state now, even if unchanged.
	VerbSync = "sync"
	// VerbRollback applies an earlier revision and pins the app to it.
	VerbRollback = "rollback"
	// VerbSuspend stops applying new desired states of an app.
	VerbSuspend = "suspend"
	// VerbResume undoes VerbSuspend and applies the latest desired state.
	VerbResume = "resume"
	// VerbUnpin undoes VerbRollback's pin and applies the latest desired state.
	VerbUnpin = "unpin"
)

// prefixReply is the prefix of command replies.
const prefixReply = "ferry.reply"

// CommandReply is where a cluster's worker answers the command with id
// (a single token, e.g. a NUID). A client subscribes to it before it
// publishes the command, since JetStream does not keep a reply subject.
func CommandReply(cluster, id string) string { return prefixReply + "." + cluster + "." + id }

// CommandRepliesForCluster matches every command reply of one cluster.
func CommandRepliesForCluster(cluster string) string { return prefixReply + "." + cluster + ".>" }

// ApplyConsumer is the durable consumer of a cluster's worker on StreamDesired.
func ApplyConsumer(cluster string) string { return "apply-" + cluster }

// CommandConsumer is the durable consumer of a cluster's worker on StreamCommands.
func CommandConsumer(cluster string) string { return "cmd-" + cluster }

// HistoryConsumer is the short-lived consumer a cluster's worker reads an
// app's revision history with (for rollback) on StreamDesired.
func HistoryConsumer(cluster string) string { return "history-" + cluster }

// WorkerInboxPrefix is the inbox prefix of a cluster's worker connection;
// its credentials only allow subscribing below it, so no worker can read
// another's replies and deliveries.
func WorkerInboxPrefix(cluster string) string { return "_INBOX_" + cluster }
