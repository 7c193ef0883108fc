package fleet

import (
	"cmp"
	"context"
	"slices"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// History returns the desired states of app that FERRY_DESIRED keeps (the
// last revisions per cluster, the rollback history), in the clusters f
// selects, newest first, each with the final result the cluster reported
// for it. Revisions a worker republished for an operator command
// (rollback, sync) are listed where they were applied again.
func (c *Client) History(ctx context.Context, app string, f Filter) ([]Revision, error) {
	desired, err := c.read(ctx, subject.StreamDesired, subject.DesiredMatching(f.Cluster, app), false)
	if err != nil {
		return nil, err
	}
	results, err := c.read(ctx, subject.StreamStatus, subject.StatusMatching(f.Cluster, app), false)
	if err != nil {
		return nil, err
	}
	// The final result per cluster, revision and digest; later ones win.
	final := map[[3]string]*ferryv1.SyncResult{}
	for _, m := range results {
		res := &ferryv1.SyncResult{}
		if err := decodeInto(m, res); err != nil {
			return nil, err
		}
		if res.GetAwaitingHealth() || res.GetPhase() == ferryv1.Phase_PHASE_UNSPECIFIED {
			continue
		}
		final[[3]string{res.GetCluster(), res.GetRevision(), res.GetDigest()}] = res
	}
	out := make([]Revision, 0, len(desired))
	for _, m := range desired {
		cl, _, err := subject.ClusterApp(m.subject)
		if err != nil {
			continue
		}
		ds := &ferryv1.DesiredState{}
		if err := decodeInto(m, ds); err != nil {
			return nil, err
		}
		ds.Manifests = nil
		out = append(out, Revision{Cluster: cl, Desired: ds, At: m.at, Seq: m.seq, TraceID: m.traceID,
			Result: final[[3]string{cl, ds.GetRevision(), ds.GetDigest()}]})
	}
	slices.SortFunc(out, func(a, b Revision) int { return cmp.Compare(b.Seq, a.Seq) })
	return out, nil
}
