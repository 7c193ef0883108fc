package renderer

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// publishDesired publishes the rendered manifests of t at ev's revision.
// The message id makes a redelivered push store each state once.
func (r *renderer) publishDesired(ctx context.Context, ev *ferryv1.PushEvent, t target, tool string, data []byte) (*ferryv1.DesiredState, error) {
	e := t.entry
	ds := &ferryv1.DesiredState{
		App:              e.Name,
		Cluster:          t.dest.Cluster,
		Namespace:        t.dest.Namespace,
		Revision:         ev.GetAfter(),
		RepoUrl:          e.Source.Repo,
		Path:             e.PathFor(t.dest),
		Ref:              e.RefFor(t.dest),
		PushId:           ev.GetId(),
		Sync:             &ferryv1.SyncPolicy{Automated: e.Sync.Automated, Prune: e.Sync.Prune, SelfHeal: e.Sync.SelfHeal},
		Tool:             tool,
		RenderedUnixNano: time.Now().UnixNano(),
		ReceivedUnixNano: ev.GetReceivedUnixNano(),
	}
	if err := bundle.Attach(ctx, r.js, ds, data); err != nil {
		return nil, fmt.Errorf("attach bundle: %w", err)
	}
	msgID := ds.Cluster + "/" + ds.App + "/" + ds.Revision + "/" + ds.Digest
	if _, err := events.Publish(ctx, r.js, subject.Desired(ds.Cluster, ds.App), ds, msgID); err != nil {
		return nil, err
	}
	return ds, nil
}

// publishFailure reports on t's status subject that ev's revision could not
// be rendered; the cluster keeps its last good revision.
func (r *renderer) publishFailure(ctx context.Context, ev *ferryv1.PushEvent, t target, started time.Time, file string, cause error) error {
	res := &ferryv1.SyncResult{
		App:              t.entry.Name,
		Cluster:          t.dest.Cluster,
		Revision:         ev.GetAfter(),
		PushId:           ev.GetId(),
		Phase:            ferryv1.Phase_PHASE_RENDER_FAILED,
		Message:          cause.Error(),
		File:             file,
		StartedUnixNano:  started.UnixNano(),
		FinishedUnixNano: time.Now().UnixNano(),
		ReceivedUnixNano: ev.GetReceivedUnixNano(),
	}
	msgID := res.Cluster + "/" + res.App + "/" + res.Revision + "/render-failed"
	if _, err := events.Publish(ctx, r.js, subject.Status(res.Cluster, res.App), res, msgID); err != nil {
		return err
	}
	return nil
}
