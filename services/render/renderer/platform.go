package renderer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
)

// appRemoval is one cluster an app no longer goes to.
type appRemoval struct {
	entry   *registry.Entry // the app as it was
	cluster string
}

// syncRegistry loads ferry.yaml from the pushed commit, when there is one,
// into the ferry-apps bucket: apps it lists are stored, apps this platform
// repository listed before and no longer does are deleted, and every
// cluster an app left gets a DesiredState with deleted=true so its worker
// prunes the app. It returns the targets of other repositories this
// process has not rendered with their current parameters (new or changed
// apps), to render from their branch tips. An invalid ferry.yaml is
// logged and leaves the registry as it was; it is the author's to fix,
// retrying would not help.
func (r *renderer) syncRegistry(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot) ([]target, error) {
	data, err := snap.ReadFile(registry.FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", registry.FileName, err)
	}
	log := logging.From(ctx)
	reg, err := registry.Parse(registry.FileName, data)
	if err != nil {
		log.Error("invalid app registry; keeping the previous one", "file", registry.FileName, "error", err)
		return nil, nil
	}
	var removals []appRemoval
	listed := make(map[string]bool, len(reg.Apps))
	for i := range reg.Apps {
		entry := &registry.Entry{App: reg.Apps[i], Platform: ev.GetCloneUrl()}
		listed[entry.Name] = true
		cur, _ := r.apps.get(entry.Name)
		if cur != nil && same(cur, entry) {
			continue
		}
		if cur != nil && subject.RepoKey(cur.Platform) != ev.GetRepoKey() {
			log.Warn("app was declared by another platform repository; this one takes it over",
				"app", entry.Name, "previous_platform", cur.Platform)
		}
		if cur != nil {
			removals = append(removals, droppedClusters(cur, entry)...)
		}
		if err := r.apps.put(ctx, entry); err != nil {
			return nil, err
		}
		log.Info("app registered", "app", entry.Name, "source", entry.Source.Repo, "destinations", len(entry.Destinations))
	}
	for name, rev := range r.apps.ownedBy(ev.GetRepoKey()) {
		if listed[name] {
			continue
		}
		cur, _ := r.apps.get(name)
		if err := r.apps.remove(ctx, name, rev); err != nil {
			return nil, err
		}
		log.Info("app removed from the registry", "app", name)
		if cur != nil {
			removals = append(removals, droppedClusters(cur, nil)...)
		}
	}
	for i := range removals {
		rm := &removals[i]
		if err := r.publishDeleted(ctx, ev, rm); err != nil {
			return nil, err
		}
		r.state.forget(rm.entry.Name, rm.cluster)
		log.Info("deletion published", "app", rm.entry.Name, "cluster", rm.cluster, "prune", rm.entry.Sync.Prune)
	}
	return r.unrendered(reg, ev), nil
}

// droppedClusters lists the clusters of old that next (nil: the app is
// gone) no longer delivers to.
func droppedClusters(old, next *registry.Entry) []appRemoval {
	keep := map[string]bool{}
	if next != nil {
		for _, d := range next.Destinations {
			keep[d.Cluster] = true
		}
	}
	var out []appRemoval
	for _, d := range old.Destinations {
		if !keep[d.Cluster] {
			out = append(out, appRemoval{entry: old, cluster: d.Cluster})
		}
	}
	return out
}

// unrendered returns the targets of reg's apps whose source is another
// repository and which this process has no render of with the current
// parameters.
func (r *renderer) unrendered(reg *registry.Registry, ev *ferryv1.PushEvent) []target {
	var out []target
	for i := range reg.Apps {
		e, _ := r.apps.get(reg.Apps[i].Name)
		if e == nil || subject.RepoKey(e.Source.Repo) == ev.GetRepoKey() {
			continue
		}
		for _, d := range e.Destinations {
			t := target{entry: e, dest: d}
			if rec := r.state.record(t); rec == nil || rec.params != renderKey(t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// renderExternal renders targets of other repositories at the tip of the
// branch each follows, one fetch per repository and branch.
func (r *renderer) renderExternal(ctx context.Context, ev *ferryv1.PushEvent, targets []target) error {
	type source struct{ url, branch string }
	groups := map[source][]target{}
	for _, t := range targets {
		k := source{t.entry.Source.Repo, t.entry.RefFor(t.dest)}
		groups[k] = append(groups[k], t)
	}
	keys := make([]source, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].url+keys[i].branch < keys[j].url+keys[j].branch })
	var errs []error
	for _, k := range keys {
		if err := r.renderTip(ctx, ev, k.url, k.branch, groups[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *renderer) renderTip(ctx context.Context, ev *ferryv1.PushEvent, url, branch string, targets []target) error {
	snap, err := r.cache.Latest(ctx, url, branch)
	if errors.Is(err, gitcache.ErrBranchNotFound) {
		// Nothing to render yet; the branch's first push renders the apps.
		logging.From(ctx).Info("new apps wait for their branch to exist", "source", url, "source_ref", branch, "targets", len(targets))
		return nil
	}
	if err != nil {
		return fmt.Errorf("render new apps from %s: %w", url, err)
	}
	defer snap.Close()
	tip := &ferryv1.PushEvent{
		Id: ev.GetId(), Provider: ev.GetProvider(), RepoKey: subject.RepoKey(url), CloneUrl: url,
		Ref: "refs/heads/" + branch, After: snap.Commit.Hash.String(), ReceivedUnixNano: ev.GetReceivedUnixNano(),
	}
	ctx = logging.With(ctx, "source", url, "source_ref", branch, "source_revision", tip.After)
	logging.From(ctx).Info("rendering apps the registry just gained", "targets", len(targets))
	return r.renderTargets(ctx, tip, snap, allScope(), targets)
}

func same(a, b *registry.Entry) bool {
	x, err1 := a.Marshal()
	y, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
