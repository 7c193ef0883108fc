package renderer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/manifest"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
)

// publishDesired publishes the rendered manifests of t at ev's revision,
// unless the subject's last desired state already has the same digest,
// namespace and sync policy: identical output must not trigger an apply.
// published is false then. The message id makes a redelivered push store
// each state once.
func (r *renderer) publishDesired(ctx context.Context, ev *ferryv1.PushEvent, t target, commit *ferryv1.Commit, tool string, data []byte) (ds *ferryv1.DesiredState, published bool, err error) {
	e := t.entry
	ds = &ferryv1.DesiredState{
		App:               e.Name,
		Cluster:           t.dest.Cluster,
		Namespace:         t.dest.Namespace,
		Revision:          ev.GetAfter(),
		RepoUrl:           e.Source.Repo,
		Path:              e.PathFor(t.dest),
		Ref:               e.RefFor(t.dest),
		PushId:            ev.GetId(),
		Sync:              syncPolicy(e.Sync),
		Tool:              tool,
		RenderedUnixNano:  time.Now().UnixNano(),
		ReceivedUnixNano:  ev.GetReceivedUnixNano(),
		IgnoreDifferences: ignoreRules(e.IgnoreDifferences),
		Commit:            commit,
	}
	last, err := r.lastDesired(ctx, ds.Cluster, ds.App)
	if err != nil {
		return nil, false, err
	}
	digest := manifest.Digest(data)
	if last != nil && !last.GetDeleted() && last.GetDigest() == digest && last.GetNamespace() == ds.Namespace &&
		proto.Equal(last.GetSync(), ds.Sync) && sameIgnoreRules(last.GetIgnoreDifferences(), ds.IgnoreDifferences) {
		ds.Digest = digest
		return ds, false, nil
	}
	if err := bundle.Attach(ctx, r.js, ds, data); err != nil {
		return nil, false, fmt.Errorf("attach bundle: %w", err)
	}
	msgID := ds.Cluster + "/" + ds.App + "/" + ds.Revision + "/" + ds.Digest
	if last.GetDeleted() {
		// Re-added after a deletion: the id of the state before must not
		// make JetStream drop this one as a duplicate.
		msgID += "/" + ev.GetId()
	}
	if _, err := events.Publish(ctx, r.js, subject.Desired(ds.Cluster, ds.App), ds, msgID); err != nil {
		return nil, false, err
	}
	return ds, true, nil
}

// commitInfo describes snap's commit as git recorded it: the first line
// of its message, its author and author time.
func commitInfo(snap *gitcache.Snapshot) *ferryv1.Commit {
	if snap == nil || snap.Commit == nil {
		return nil
	}
	c := snap.Commit
	msg, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return &ferryv1.Commit{Id: c.Hash.String(), Message: msg, Author: c.Author.Name, TimestampUnix: c.Author.When.Unix()}
}

// publishDeleted tells cluster's worker that app left the registry (or
// this cluster left the app's destinations); with prune on, the worker
// deletes what it applied. rev is the platform repository's revision.
func (r *renderer) publishDeleted(ctx context.Context, ev *ferryv1.PushEvent, app *appRemoval) error {
	last, err := r.lastDesired(ctx, app.cluster, app.entry.Name)
	if err != nil {
		return err
	}
	if last == nil || last.GetDeleted() {
		return nil // never delivered, or already deleted
	}
	e := app.entry
	ds := &ferryv1.DesiredState{
		App:              e.Name,
		Cluster:          app.cluster,
		Namespace:        last.GetNamespace(),
		Revision:         ev.GetAfter(),
		RepoUrl:          e.Source.Repo,
		Path:             last.GetPath(),
		Ref:              last.GetRef(),
		PushId:           ev.GetId(),
		Sync:             syncPolicy(e.Sync),
		Tool:             last.GetTool(),
		Deleted:          true,
		RenderedUnixNano: time.Now().UnixNano(),
		ReceivedUnixNano: ev.GetReceivedUnixNano(),
	}
	msgID := ds.Cluster + "/" + ds.App + "/" + ds.Revision + "/deleted"
	if _, err := events.Publish(ctx, r.js, subject.Desired(ds.Cluster, ds.App), ds, msgID); err != nil {
		return fmt.Errorf("publish deletion of %s/%s: %w", ds.Cluster, ds.App, err)
	}
	return nil
}

// lastDesired returns the newest desired state of cluster/app, or nil.
func (r *renderer) lastDesired(ctx context.Context, cluster, app string) (*ferryv1.DesiredState, error) {
	if r.desired == nil {
		return nil, nil
	}
	msg, err := r.desired.GetLastMsgForSubject(ctx, subject.Desired(cluster, app))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up last desired state of %s/%s: %w", cluster, app, err)
	}
	var ds ferryv1.DesiredState
	if err := proto.Unmarshal(msg.Data, &ds); err != nil {
		return nil, fmt.Errorf("decode last desired state of %s/%s: %w", cluster, app, err)
	}
	return &ds, nil
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

// ignoreRules carries the registry's ignoreDifferences into the message.
func ignoreRules(in []registry.IgnoreDifference) []*ferryv1.IgnoreRule {
	out := make([]*ferryv1.IgnoreRule, 0, len(in))
	for _, ig := range in {
		out = append(out, &ferryv1.IgnoreRule{Group: ig.Group, Kind: ig.Kind, Name: ig.Name, Namespace: ig.Namespace,
			JsonPointers: slices.Clone(ig.JSONPointers)})
	}
	return out
}

func sameIgnoreRules(a, b []*ferryv1.IgnoreRule) bool {
	return slices.EqualFunc(a, b, func(x, y *ferryv1.IgnoreRule) bool { return proto.Equal(x, y) })
}

// syncPolicy is the wire form of an app's sync policy.
func syncPolicy(p registry.SyncPolicy) *ferryv1.SyncPolicy {
	return &ferryv1.SyncPolicy{Automated: p.Automated, Prune: p.Prune, SelfHeal: p.SelfHeal, CreateNamespace: p.CreateNamespace}
}
