package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// applyRevision is the apply path of one sync, without NATS: parse and
// label the manifests, record new objects in the inventory, dry-run and
// apply them (applySet), prune what inv lists and ds lacks when ds
// prunes, and write the inventory of ds. It fills res.Objects and returns
// the applied objects and the refs now in the inventory.
func (k *kube) applyRevision(ctx context.Context, ds *ferryv1.DesiredState, data []byte, inv *inventory, res *ferryv1.SyncResult) ([]*unstructured.Unstructured, []*ferryv1.ObjectRef, error) {
	app := ds.GetApp()
	objs, err := k.prepare(ds, data)
	if err != nil {
		return nil, nil, err
	}
	// Fields the app ignores keep their live values (see keepIgnored).
	if err := k.keepIgnored(ctx, objs, ignoreRules(ds.GetIgnoreDifferences())); err != nil {
		return nil, nil, err
	}
	current := make([]*ferryv1.ObjectRef, len(objs))
	for i, u := range objs {
		current[i] = refOf(u)
	}
	recorded := len(missing(current, inv.objects)) > 0
	if recorded {
		// Record new objects before they exist, so that no crash can leave
		// an applied object that no inventory knows of. The digest is
		// cleared: until this sync ends the cluster is between revisions.
		next := &inventory{revision: inv.revision, namespace: ds.GetNamespace(), objects: union(inv.objects, current)}
		if err := k.saveInventory(ctx, app, next); err != nil {
			return nil, nil, err
		}
	}
	// The app's namespace, when Ferry is to create it, is applied with
	// the set but stays out of the inventory: it is never pruned.
	set := objs
	created, err := k.namespaceToCreate(ctx, ds, objs)
	if err != nil {
		return nil, nil, err
	}
	if created != nil {
		set = append(slices.Clip(objs), created)
	}
	plans, err := k.applySet(ctx, set)
	res.Objects = planResults(plans, err)
	if created != nil {
		markCreatedNamespace(res.Objects, created)
	}
	if err != nil {
		if recorded && nothingApplied(plans, err) {
			// The gate refused the revision before anything was sent: the
			// cluster is still at inv, so the next sync must not prune the
			// objects recorded for this one.
			if serr := k.saveInventory(ctx, app, inv); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	if ds.GetSync().GetPrune() {
		pruned, err := k.prune(ctx, app, missing(inv.objects, current))
		res.Objects = append(res.Objects, pruned...)
		if err != nil {
			// Keep what could not be deleted in the inventory for the next try.
			next := &inventory{revision: ds.GetRevision(), namespace: ds.GetNamespace(), objects: union(current, notDeleted(pruned))}
			if serr := k.saveInventory(ctx, app, next); serr != nil {
				err = errors.Join(err, serr)
			}
			return nil, nil, err
		}
	}
	next := &inventory{revision: ds.GetRevision(), digest: ds.GetDigest(), namespace: ds.GetNamespace(), objects: current}
	if err := k.saveInventory(ctx, app, next); err != nil {
		return nil, nil, err
	}
	return objs, current, nil
}
