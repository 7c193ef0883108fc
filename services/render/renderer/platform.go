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
	"github.com/ferrycd/ferry/pkg/repoid"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
)

// appRemoval is one cluster an app no longer goes to.
type appRemoval struct {
	entry   *registry.Entry // the app as it was
	cluster string
}

// syncRegistry loads ferry.yaml from the platform repository's pushed
// commit, when there is one, into the ferry-apps bucket: apps it lists
// are stored, apps this platform repository listed before and no longer
// does are deleted, and every cluster an app left gets a DesiredState
// with deleted=true so its worker prunes the app. It returns the targets
// of other repositories this process has not rendered with their current
// parameters (new or changed apps), to render from their branch tips.
//
// A ferry.yaml that does not parse or validate, or that declares an app
// another platform repository owns, is rejected whole: the registry stays
// as it was and a REJECTED RegistryStatus says why (ferry get apps, the
// dashboard and a commit status show it). It is the author's to fix;
// retrying would not help.
func (r *renderer) syncRegistry(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot, platform string) ([]target, error) {
	data, err := snap.ReadFile(registry.FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", registry.FileName, err)
	}
	log := logging.From(ctx)
	reg, err := registry.Parse(registry.FileName, data)
	if err == nil {
		err = r.conflicts(reg, platform)
	}
	if err != nil {
		log.Error("app registry rejected; keeping the previous one", "file", registry.FileName, "error", err)
		return nil, r.publishRegistry(ctx, ev, platform, ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED, err.Error(), nil)
	}
	var removals []appRemoval
	listed := make(map[string]bool, len(reg.Apps))
	for i := range reg.Apps {
		entry := &registry.Entry{App: reg.Apps[i], Platform: platform}
		listed[entry.Name] = true
		cur, _ := r.apps.get(entry.Name)
		if cur != nil && same(cur, entry) {
			continue
		}
		if cur != nil && !repoid.Same(cur.Platform, platform) {
			log.Warn("app was declared by a repository that is no longer a platform repository; this one declares it now",
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
	for name, rev := range r.apps.ownedBy(platform) {
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
	names := make([]string, 0, len(reg.Apps))
	for i := range reg.Apps {
		names = append(names, reg.Apps[i].Name)
	}
	if err := r.publishRegistry(ctx, ev, platform, ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED, "", names); err != nil {
		return nil, err
	}
	push, _ := repoid.Parse(platform)
	return r.unrendered(reg, push), nil
}

// conflicts rejects a registry that declares an app another trusted
// platform repository owns: an app changes hands only when its owner
// drops it first, never by being redeclared.
func (r *renderer) conflicts(reg *registry.Registry, platform string) error {
	var errs []error
	for i := range reg.Apps {
		cur, _ := r.apps.get(reg.Apps[i].Name)
		if cur != nil && !repoid.Same(cur.Platform, platform) && r.platforms.trusts(cur.Platform) {
			errs = append(errs, fmt.Errorf("app %q belongs to platform repository %s: remove it there before declaring it here",
				reg.Apps[i].Name, cur.Platform))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s: %w", registry.ErrInvalid, registry.FileName, errors.Join(errs...))
	}
	return nil
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
func (r *renderer) unrendered(reg *registry.Registry, platform repoid.ID) []target {
	var out []target
	for i := range reg.Apps {
		e, _ := r.apps.get(reg.Apps[i].Name)
		if e == nil || sameRepo(e.Source.Repo, platform) {
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

// sameRepo reports whether url names repository id.
func sameRepo(url string, id repoid.ID) bool {
	u, err := repoid.Parse(url)
	return err == nil && u.Same(id)
}

func same(a, b *registry.Entry) bool {
	x, err1 := a.Marshal()
	y, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
