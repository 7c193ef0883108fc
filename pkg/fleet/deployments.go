package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Deployments returns every app × cluster Ferry has a desired state or a
// result for, matching f, sorted by app then cluster. An app removed from
// the registry (its newest desired state a deletion) is left out unless
// f.Removed is set; History still shows its removal.
func (c *Client) Deployments(ctx context.Context, f Filter) ([]Deployment, error) {
	desired, err := c.read(ctx, subject.StreamDesired, subject.DesiredMatching(f.Cluster, f.App), true)
	if err != nil {
		return nil, err
	}
	results, err := c.read(ctx, subject.StreamStatus, subject.StatusMatching(f.Cluster, f.App), true)
	if err != nil {
		return nil, err
	}
	drifts, err := c.read(ctx, subject.StreamDrift, subject.DriftMatching(f.Cluster, f.App), true)
	if err != nil {
		return nil, err
	}
	controls, err := c.controls(ctx, f.Cluster)
	if err != nil {
		return nil, err
	}
	byKey := map[[2]string]*Deployment{}
	get := func(subj string) *Deployment {
		cl, app, err := subject.ClusterApp(subj)
		if err != nil || !f.Match(app, cl) {
			return nil
		}
		k := [2]string{app, cl}
		if d := byKey[k]; d != nil {
			return d
		}
		d := &Deployment{App: app, Cluster: cl, Control: controls[cl].Apps[app]}
		byKey[k] = d
		return d
	}
	for _, m := range desired {
		if d := get(m.subject); d != nil {
			if err := d.setDesired(m); err != nil {
				return nil, err
			}
		}
	}
	unjudged := map[string]*Deployment{}
	for _, m := range results {
		d := get(m.subject)
		if d == nil {
			continue
		}
		if err := d.setResult(m); err != nil {
			return nil, err
		}
		if d.Result == nil {
			// The newest result is a note (superseded, held, a command's
			// answer): find the newest that judges a sync, below.
			unjudged[m.subject] = d
		}
	}
	if err := c.judgingResults(ctx, unjudged); err != nil {
		return nil, err
	}
	for _, m := range drifts {
		if d := get(m.subject); d != nil {
			ev := &ferryv1.DriftEvent{}
			if err := decodeInto(m, ev); err != nil {
				return nil, err
			}
			d.Drift, d.DriftAt = ev, m.at
		}
	}
	out := make([]Deployment, 0, len(byKey))
	for _, d := range byKey {
		if d.Removed() && !f.Removed {
			continue
		}
		d.derive()
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Deployment) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Cluster, b.Cluster))
	})
	return out, nil
}

// ClustersOf returns, sorted, the clusters app has a desired state or a
// result in. It reads only the streams' subject counts, not the messages.
func (c *Client) ClustersOf(ctx context.Context, app string) ([]string, error) {
	var out []string
	for _, s := range []struct{ stream, filter string }{
		{subject.StreamDesired, subject.DesiredMatching("", app)},
		{subject.StreamStatus, subject.StatusMatching("", app)},
	} {
		subjects, err := c.subjects(ctx, s.stream, s.filter)
		if err != nil {
			return nil, err
		}
		for subj := range subjects {
			if cl, a, err := subject.ClusterApp(subj); err == nil && a == app {
				out = append(out, cl)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// setDesired records m as the newest desired state.
func (d *Deployment) setDesired(m stored) error {
	ds := &ferryv1.DesiredState{}
	if err := decodeInto(m, ds); err != nil {
		return err
	}
	ds.Manifests = nil
	d.Desired, d.DesiredAt, d.Namespace = ds, m.at, ds.GetNamespace()
	if d.TraceID == "" {
		d.TraceID = m.traceID
	}
	return nil
}

// setResult records m as the result when it judges a sync.
func (d *Deployment) setResult(m stored) error {
	res := &ferryv1.SyncResult{}
	if err := decodeInto(m, res); err != nil {
		return err
	}
	if !judges(res) {
		return nil
	}
	d.Result, d.ResultAt = res, m.at
	if m.traceID != "" {
		d.TraceID = m.traceID
	}
	return nil
}

// judges reports whether res says how a sync went, unlike a superseded
// revision's or a command's note.
func judges(res *ferryv1.SyncResult) bool {
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_RENDER_FAILED:
		return true
	}
	return false
}

// judgingResults reads the results of the subjects of unjudged, at most
// the hundred per subject the stream keeps, in one read, and records on
// each deployment the newest that judges a sync.
func (c *Client) judgingResults(ctx context.Context, unjudged map[string]*Deployment) error {
	if len(unjudged) == 0 {
		return nil
	}
	all, err := c.readSubjects(ctx, subject.StreamStatus, slices.Sorted(maps.Keys(unjudged)))
	if err != nil {
		return err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if d := unjudged[all[i].subject]; d != nil && d.Result == nil {
			if err := d.setResult(all[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// derive sets Sync, Health and Drifted from the messages.
func (d *Deployment) derive() {
	res := d.Result
	held := d.Control.Pinned != nil || d.Control.Suspended != nil
	switch {
	case d.Desired == nil && res == nil:
		d.Sync = SyncUnknown
	case res != nil && res.GetPhase() == ferryv1.Phase_PHASE_RENDER_FAILED && !d.ResultAt.Before(d.DesiredAt):
		d.Sync = SyncRenderFailed
	case res == nil || (d.DesiredAt.After(d.ResultAt) && !held):
		d.Sync = SyncPending
	case res.GetPhase() == ferryv1.Phase_PHASE_FAILED:
		d.Sync = SyncFailed
	case res.GetAwaitingHealth():
		d.Sync = SyncSyncing
	default:
		d.Sync = SyncSynced
	}
	d.Health = res.GetHealth()
	d.Drifted = d.Drift != nil && !d.Drift.GetCorrected() && len(d.Drift.GetObjects()) > 0 && d.DriftAt.After(d.ResultAt)
}

// controls reads the app controls of clusterName, or of every cluster
// when it is empty.
func (c *Client) controls(ctx context.Context, clusterName string) (map[string]cluster.Controls, error) {
	kv, err := c.js.KeyValue(ctx, subject.BucketAppState)
	if err != nil {
		return nil, fmt.Errorf("open kv %s: %w", subject.BucketAppState, err)
	}
	out := map[string]cluster.Controls{}
	read := func(k string) error {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read kv %s/%s: %w", subject.BucketAppState, k, err)
		}
		var cs cluster.Controls
		if err := cluster.Decode(e.Value(), &cs); err != nil {
			return fmt.Errorf("kv %s/%s: %w", subject.BucketAppState, k, err)
		}
		out[k] = cs
		return nil
	}
	if clusterName != "" {
		return out, read(clusterName)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list kv %s: %w", subject.BucketAppState, err)
	}
	for k := range keys.Keys() {
		if err := read(k); err != nil {
			return nil, err
		}
	}
	return out, nil
}
