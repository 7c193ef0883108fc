package natsauth

import (
	"fmt"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ferrycd/ferry/pkg/subject"
)

// Names of the central identities, one per service and two for people
// (the CLI and the dashboard).
const (
	// Ingest publishes verified pushes.
	Ingest = "ingest"
	// Render turns pushes into desired state and is the one identity
	// that creates and updates streams (see the package documentation).
	Render = "render"
	// Drift alerts on failed syncs and drift and keeps commit statuses.
	Drift = "drift"
	// OperatorRead reads everything an operator sees and asks workers for
	// diffs; it sends no commands.
	OperatorRead = "operator-read"
	// Operator is OperatorRead plus sending commands and reading replies.
	Operator = "operator"
)

// Services lists the central identities, in the order they are generated.
var Services = []string{Ingest, Render, Drift, OperatorRead, Operator}

// SpanOrigin is the origin a central identity publishes its trace spans
// as (subject.Span's last token); the operators publish none.
func SpanOrigin(name string) string {
	switch name {
	case Ingest, Render, Drift:
		return "ferry-" + name
	}
	return ""
}

// ServicePermissions are the permissions of the central identity name
// whose nkey is publicKey (its inbox is subject.IdentityInboxPrefix of
// it); the package documentation explains each subject.
func ServicePermissions(name, publicKey string) (*server.Permissions, error) {
	var pub []string
	switch name {
	case Ingest:
		pub = ingestPublish()
	case Render:
		pub = renderPublish()
	case Drift:
		pub = driftPublish()
	case OperatorRead:
		pub = operatorReadPublish()
	case Operator:
		pub = append(operatorReadPublish(), subject.AllCommands, jsAPI+"STREAM.INFO."+subject.StreamCommands)
	default:
		return nil, fmt.Errorf("natsauth: no central identity %q (want one of %v)", name, Services)
	}
	if o := SpanOrigin(name); o != "" {
		pub = append(pub, subject.Span("*", o))
	}
	sub := []string{subject.IdentityInboxPrefix(publicKey) + ".>"}
	if name == Operator {
		sub = append(sub, subject.CommandRepliesForCluster("*"))
	}
	perms := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
	if name == Operator || name == OperatorRead {
		perms.Publish.Deny = centralDurables()
	}
	return perms, nil
}

// centralDurables are the subjects that would update or delete the
// central services' durable consumers, which a reader's consumers of any
// name would otherwise reach.
func centralDurables() []string {
	var deny []string
	for _, c := range []struct{ stream, durable string }{
		{subject.StreamGit, subject.ConsumerRender},
		{subject.StreamStatus, subject.ConsumerDrift},
		{subject.StreamDrift, subject.ConsumerDrift},
		{subject.StreamDesired, subject.ConsumerDriftCommitStatus},
		{subject.StreamStatus, subject.ConsumerDriftCommitStatus},
		{subject.StreamRegistry, subject.CommitStatusRegistryConsumer},
	} {
		deny = append(deny,
			jsAPI+"CONSUMER.CREATE."+c.stream+"."+c.durable,
			jsAPI+"CONSUMER.CREATE."+c.stream+"."+c.durable+".>",
			jsAPI+"CONSUMER.DELETE."+c.stream+"."+c.durable)
	}
	return deny
}

// ingestPublish: pushes into FERRY_GIT, and the stream's info to wait
// for it at start.
func ingestPublish() []string {
	return []string{
		subject.AllGit,
		jsAPI + "STREAM.INFO." + subject.StreamGit,
	}
}

// renderPublish: the setup of every stream and bucket, its durable on
// FERRY_GIT, the app registry, desired state, render failures, registry
// outcomes and the bundle object stores.
func renderPublish() []string {
	pub := []string{
		// Setup (stream.Ensure) and the bundle stores it creates on first
		// use. A stream name is one token, and ferry-bundles-<c> has no
		// token of its own to match, so these name every stream; deleting
		// one is still refused.
		jsAPI + "STREAM.CREATE.*",
		jsAPI + "STREAM.UPDATE.*",
		jsAPI + "INFO", // account limits, which creating a bucket checks
		jsAPI + "STREAM.INFO.*",

		jsAPI + "CONSUMER.CREATE." + subject.StreamGit + "." + subject.ConsumerRender + "." + subject.AllGit,
		jsAPI + "CONSUMER.INFO." + subject.StreamGit + "." + subject.ConsumerRender,
		jsAPI + "CONSUMER.MSG.NEXT." + subject.StreamGit + "." + subject.ConsumerRender,
		jsAck + subject.StreamGit + "." + subject.ConsumerRender + ".>",

		subject.AllDesired,
		jsAPI + "DIRECT.GET." + subject.StreamDesired + ".>",
		subject.AllStatus,
		subject.AllRegistry,

		// Bundles: chunks and metadata of every ferry-bundles-<c>, the
		// metadata read back before a put.
		obPre + "*.>",
		jsAPI + "DIRECT.GET.*." + obPre + "*.M.>",
	}
	return append(pub, kvWrite(subject.BucketApps)...)
}

// driftPublish: its durables on FERRY_STATUS, FERRY_DRIFT and (commit
// statuses) FERRY_DESIRED and FERRY_REGISTRY, and its two buckets, which
// it creates.
func driftPublish() []string {
	var pub []string
	for _, c := range []struct{ stream, durable, filter string }{
		{subject.StreamStatus, subject.ConsumerDrift, subject.AllStatus},
		{subject.StreamDrift, subject.ConsumerDrift, subject.AllDrift},
		{subject.StreamDesired, subject.ConsumerDriftCommitStatus, subject.AllDesired},
		{subject.StreamStatus, subject.ConsumerDriftCommitStatus, subject.AllStatus},
		{subject.StreamRegistry, subject.CommitStatusRegistryConsumer, subject.AllRegistry},
	} {
		pub = append(pub, durable(c.stream, c.durable, c.filter)...)
	}
	for _, s := range []string{subject.StreamStatus, subject.StreamDrift, subject.StreamDesired, subject.StreamRegistry} {
		pub = append(pub, jsAPI+"STREAM.INFO."+s)
	}
	pub = append(pub, jsAPI+"INFO") // account limits, which creating a bucket checks
	for _, b := range []string{subject.BucketIncidents, subject.BucketCommitStatus} {
		pub = append(pub, jsAPI+"STREAM.CREATE.KV_"+b, jsAPI+"STREAM.UPDATE.KV_"+b)
		pub = append(pub, kvWrite(b)...)
	}
	return pub
}

// operatorReadPublish: reading every stream an operator sees with
// ephemeral and ordered consumers and direct gets, the buckets, and diff
// queries to the workers.
func operatorReadPublish() []string {
	var pub []string
	for _, s := range []string{
		subject.StreamGit, subject.StreamDesired, subject.StreamStatus, subject.StreamDrift,
		subject.StreamCommands, subject.StreamRegistry, subject.StreamTraces,
	} {
		pub = append(pub, readStream(s)...)
	}
	for _, b := range []string{subject.BucketApps, subject.BucketClusters, subject.BucketAppState} {
		pub = append(pub, readStream("KV_"+b)...)
	}
	return append(pub, subject.QueriesForCluster("*"))
}

// durable is creating, reading and acking one filtered durable consumer.
func durable(streamName, name, filter string) []string {
	return []string{
		jsAPI + "CONSUMER.CREATE." + streamName + "." + name + "." + filter,
		jsAPI + "CONSUMER.INFO." + streamName + "." + name,
		jsAPI + "CONSUMER.MSG.NEXT." + streamName + "." + name,
		jsAck + streamName + "." + name + ".>",
	}
}

// readStream is reading streamName with consumers of any name (ordered
// and ephemeral ones have random names; a consumer's filter is in the
// request body when it has several) and direct gets. None of it writes a
// message; a consumer it creates is the only state it leaves.
func readStream(streamName string) []string {
	return []string{
		jsAPI + "STREAM.INFO." + streamName,
		jsAPI + "CONSUMER.CREATE." + streamName + ".>",
		jsAPI + "CONSUMER.INFO." + streamName + ".*",
		jsAPI + "CONSUMER.MSG.NEXT." + streamName + ".*",
		jsAPI + "CONSUMER.DELETE." + streamName + ".*",
		jsAPI + "DIRECT.GET." + streamName + ".>",
		jsAPI + "DIRECT.GET." + streamName,
		jsAck + streamName + ".>",
		jsFC + streamName + ".>",
	}
}

// kvWrite is reading, watching and writing bucket.
func kvWrite(bucket string) []string {
	return append(readStream("KV_"+bucket), kvPre+bucket+".>")
}
