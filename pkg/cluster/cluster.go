// Package cluster defines what apply workers keep about their cluster in
// NATS KV, as JSON other services and the CLI read: the heartbeat in the
// cluster registry (subject.BucketClusters, key = cluster name) and the
// operator's controls per app (subject.BucketAppState, key = cluster name).
package cluster

import (
	"encoding/json"
	"fmt"
	"time"
)

// Heartbeat is a worker's liveness report, put every few seconds.
type Heartbeat struct {
	// Cluster is the cluster the worker applies to.
	Cluster string `json:"cluster"`
	// Version is the worker's build version.
	Version string `json:"version"`
	// SeenAt is when the worker sent this heartbeat.
	SeenAt time.Time `json:"seenAt"`
	// StartedAt is when the worker process started.
	StartedAt time.Time `json:"startedAt"`
	// Interval is the heartbeat period; a heartbeat older than a few
	// intervals means the worker is gone.
	Interval Duration `json:"interval"`
	// Stopped is set by the last heartbeat of a worker that shut down cleanly.
	Stopped bool `json:"stopped,omitempty"`
	// Pending is how many desired states wait for the worker: not yet
	// delivered plus delivered and not yet settled.
	Pending uint64 `json:"pending"`
	// Apps is the last applied revision of each app, and its controls.
	Apps map[string]AppStatus `json:"apps,omitempty"`
}

// AppStatus is what a heartbeat says about one app.
type AppStatus struct {
	// Revision and Digest were last applied successfully by this worker process.
	Revision string `json:"revision,omitempty"`
	Digest   string `json:"digest,omitempty"`
	// AppliedAt is when that sync finished.
	AppliedAt time.Time `json:"appliedAt,omitzero"`
	// PinnedTo is the revision a rollback pinned the app to, if any.
	PinnedTo string `json:"pinnedTo,omitempty"`
	// Suspended is true while automated sync is suspended.
	Suspended bool `json:"suspended,omitempty"`
}

// Alive reports whether h was sent recently enough, at most misses
// intervals before now, by a worker that has not stopped.
func (h Heartbeat) Alive(now time.Time, misses int) bool {
	return !h.Stopped && now.Sub(h.SeenAt) <= time.Duration(misses)*time.Duration(h.Interval)
}

// Controls are the operator's controls of one cluster's apps.
type Controls struct {
	Apps map[string]AppControl `json:"apps,omitempty"`
}

// AppControl is what an operator asked of one app. The zero value is an
// app under automated sync.
type AppControl struct {
	// Pinned is set by a rollback: newer desired states are not applied
	// until a commit pushed after the pin arrives, or an unpin command.
	Pinned *Pin `json:"pinned,omitempty"`
	// Suspended is set by a suspend command: new desired states are not
	// applied until a resume command.
	Suspended *Hold `json:"suspended,omitempty"`
}

// Zero reports whether c holds no control.
func (c AppControl) Zero() bool { return c.Pinned == nil && c.Suspended == nil }

// Hold records who set a control, when and with which command.
type Hold struct {
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
	Command string    `json:"command,omitempty"`
}

// Pin is a rollback's target.
type Pin struct {
	Hold
	Revision string `json:"revision"`
	Digest   string `json:"digest,omitempty"`
}

// Encode returns the JSON of v for a KV value.
func Encode(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return data, nil
}

// Decode reads the JSON KV value data into v.
func Decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Headers on a desired state that a worker republished for an operator
// command (rollback, sync now, resume, unpin), so its result names the
// command and who asked for it.
const (
	// HeaderCommand carries Command.id.
	HeaderCommand = "Ferry-Command"
	// HeaderVerb carries the command's verb token (subject.VerbRollback, ...).
	HeaderVerb = "Ferry-Command-Verb"
	// HeaderRequestedBy carries Command.requested_by.
	HeaderRequestedBy = "Ferry-Requested-By"
)
