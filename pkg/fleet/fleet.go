// Package fleet reads what Ferry knows about every app and cluster from
// JetStream streams and KV buckets, and sends operator commands: the read
// model the CLI and the dashboard share, with no database of its own.
//
// A Deployment is one app in one cluster. Its state is joined from the
// newest desired state (FERRY_DESIRED), the newest result that judges a
// sync (FERRY_STATUS), the newest drift event (FERRY_DRIFT) and the
// operator's controls (KV ferry-app-state). Clusters come from the worker
// heartbeats in KV ferry-clusters.
package fleet

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/cluster"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// ErrNotFound reports an app, cluster or revision Ferry knows nothing of.
var ErrNotFound = errors.New("not found")

// ErrNoWorker reports a cluster whose apply worker is not running or not
// answering.
var ErrNoWorker = errors.New("no apply worker")

// Client reads Ferry's state and sends operator commands over one NATS
// connection. It is safe for concurrent use.
type Client struct {
	nc *nats.Conn
	js jetstream.JetStream
	// now is the clock liveness is judged by.
	now func() time.Time
}

// NewClient returns a Client on nc.
func NewClient(nc *nats.Conn) (*Client, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Client{nc: nc, js: js, now: time.Now}, nil
}

// Filter selects deployments and events; empty fields match everything.
type Filter struct {
	App     string
	Cluster string
	// Removed also selects, in Deployments, the apps removed from the
	// registry: those whose newest desired state is a deletion. Their
	// history stays readable with History either way.
	Removed bool
}

// Match reports whether app and cluster pass f. Empty app or cluster (a
// push has neither) only pass a filter that leaves that field empty.
func (f Filter) Match(app, cluster string) bool {
	return (f.App == "" || f.App == app) && (f.Cluster == "" || f.Cluster == cluster)
}

// Sync is an app's sync state in one cluster.
type Sync string

// Sync states, from a desired state and the newest result.
const (
	// SyncUnknown: neither a desired state nor a result is known.
	SyncUnknown Sync = "Unknown"
	// SyncPending: a desired state is newer than any result for it.
	SyncPending Sync = "Pending"
	// SyncSyncing: the objects are applied and health is awaited.
	SyncSyncing Sync = "Syncing"
	// SyncSynced: the newest desired state (or the pinned revision) is applied.
	SyncSynced Sync = "Synced"
	// SyncFailed: the newest apply failed; the cluster keeps what it had.
	SyncFailed Sync = "Failed"
	// SyncRenderFailed: the newest commit did not render; the cluster
	// keeps the last good revision.
	SyncRenderFailed Sync = "RenderFailed"
)

// Deployment is one app in one cluster: a row of `ferry get apps` and a
// cell of the dashboard's grid.
type Deployment struct {
	App, Cluster, Namespace string
	// Desired is the newest desired state, its manifests dropped; nil if none.
	Desired   *ferryv1.DesiredState
	DesiredAt time.Time
	// Result is the newest result that judges a sync (succeeded, failed or
	// render failed; awaiting health included); nil if none.
	Result   *ferryv1.SyncResult
	ResultAt time.Time
	// TraceID is the trace of Result, else of Desired; empty if unknown.
	TraceID string
	// Drift is the newest drift event; nil if none.
	Drift   *ferryv1.DriftEvent
	DriftAt time.Time
	// Control holds the operator's pin and suspension.
	Control cluster.AppControl
	// Sync, Health and Drifted summarise the above.
	Sync   Sync
	Health ferryv1.Health
	// Drifted is set while a drift event newer than Result was not corrected.
	Drifted bool
}

// Removed reports whether the app was removed from the registry for this
// cluster: its newest desired state is a deletion (DesiredState.deleted).
// A newer desired state that is not a deletion adds it back.
func (d *Deployment) Removed() bool {
	return d.Desired.GetDeleted()
}

// Revision returns the revision the cluster runs or is moving to: the
// result's, else the desired state's.
func (d *Deployment) Revision() string {
	if r := d.Result.GetRevision(); r != "" && d.Sync != SyncRenderFailed {
		return r
	}
	return d.Desired.GetRevision()
}

// Cluster is one cluster's apply worker as its heartbeat describes it.
type Cluster struct {
	Name      string
	Heartbeat cluster.Heartbeat
	// Alive is false when the worker stopped or missed several heartbeats.
	Alive bool
	// LastSeen is when the last heartbeat was sent.
	LastSeen time.Time
}

// Revision is one desired state of an app in one cluster, with its outcome.
type Revision struct {
	Cluster string
	// Desired has its manifests dropped; Desired.Commit describes the commit.
	Desired *ferryv1.DesiredState
	At      time.Time
	Seq     uint64
	TraceID string
	// Result is the final result for this revision and digest in the
	// cluster; nil while none is known.
	Result *ferryv1.SyncResult
}

// Event kinds, one per stream.
const (
	KindPush    = "push"
	KindDesired = "desired"
	KindStatus  = "status"
	KindDrift   = "drift"
	KindCommand = "command"
	// KindRegistry is a reading of a ferry.yaml (FERRY_REGISTRY); it
	// names no app or cluster, like a push.
	KindRegistry = "registry"
)

// Event is one decoded message of FERRY_GIT, FERRY_DESIRED, FERRY_STATUS,
// FERRY_DRIFT, FERRY_CMD or FERRY_REGISTRY. Exactly one of the message
// fields is set, the one Kind names.
type Event struct {
	Kind         string
	Subject      string
	Cluster, App string
	At           time.Time
	Seq          uint64
	TraceID      string

	Push     *ferryv1.PushEvent
	Desired  *ferryv1.DesiredState
	Result   *ferryv1.SyncResult
	Drift    *ferryv1.DriftEvent
	Command  *ferryv1.Command
	Registry *ferryv1.RegistryStatus
}
