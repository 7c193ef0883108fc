package natsauth

import (
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ferrycd/ferry/pkg/subject"
)

// JetStream API and storage subject prefixes (NATS conventions, not
// Ferry names).
const (
	jsAPI = "$JS.API."
	jsAck = "$JS.ACK."
	jsFC  = "$JS.FC."
	kvPre = "$KV."
	obPre = "$O."
)

// queryAnswerWindow is how long a worker may answer a query it received.
const queryAnswerWindow = time.Minute

// WorkerPermissions are the permissions of cluster's worker; the package
// documentation explains each subject.
func WorkerPermissions(cluster string) *server.Permissions {
	desired, cmd := subject.StreamDesired, subject.StreamCommands
	apply, hist, cmdCons := subject.ApplyConsumer(cluster), subject.HistoryConsumer(cluster), subject.CommandConsumer(cluster)
	kvClusters, kvState := "KV_"+subject.BucketClusters, "KV_"+subject.BucketAppState
	obj, objPre := "OBJ_"+subject.Bundles(cluster), obPre+subject.Bundles(cluster)
	pub := []string{
		jsAPI + "STREAM.INFO." + desired,
		jsAPI + "CONSUMER.CREATE." + desired + "." + apply + "." + subject.DesiredForCluster(cluster),
		jsAPI + "CONSUMER.INFO." + desired + "." + apply,
		jsAPI + "CONSUMER.MSG.NEXT." + desired + "." + apply,
		jsAck + desired + "." + apply + ".>",
		jsAPI + "DIRECT.GET." + desired + "." + subject.DesiredForCluster(cluster),
		subject.DesiredForCluster(cluster),

		jsAPI + "CONSUMER.CREATE." + desired + "." + hist + "." + subject.DesiredForCluster(cluster),
		jsAPI + "CONSUMER.MSG.NEXT." + desired + "." + hist,
		jsAPI + "CONSUMER.DELETE." + desired + "." + hist,

		jsAPI + "CONSUMER.CREATE." + cmd + "." + cmdCons + "." + subject.CommandsForCluster(cluster),
		jsAPI + "CONSUMER.INFO." + cmd + "." + cmdCons,
		jsAPI + "CONSUMER.MSG.NEXT." + cmd + "." + cmdCons,
		jsAck + cmd + "." + cmdCons + ".>",
		subject.CommandRepliesForCluster(cluster),

		subject.StatusForCluster(cluster),
		subject.DriftForCluster(cluster),

		jsAPI + "STREAM.INFO." + kvClusters,
		kvPre + subject.BucketClusters + "." + cluster,
		jsAPI + "DIRECT.GET." + kvClusters + "." + kvPre + subject.BucketClusters + "." + cluster,
		jsAPI + "STREAM.INFO." + kvState,
		kvPre + subject.BucketAppState + "." + cluster,
		jsAPI + "DIRECT.GET." + kvState + "." + kvPre + subject.BucketAppState + "." + cluster,

		jsAPI + "STREAM.INFO." + obj,
		jsAPI + "DIRECT.GET." + obj + "." + objPre + ".M.>",
		jsAPI + "CONSUMER.CREATE." + obj + ".*." + objPre + ".C.*",
		jsAPI + "CONSUMER.DELETE." + obj + ".*",
		jsFC + obj + ".>",

		subject.WorkerSpans(cluster),
	}
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{
			subject.WorkerInboxPrefix(cluster) + ".>",
			subject.QueriesForCluster(cluster),
		}},
		// Answers to the queries it received (ferry diff), one each.
		Response: &server.ResponsePermission{MaxMsgs: 1, Expires: queryAnswerWindow},
	}
}
