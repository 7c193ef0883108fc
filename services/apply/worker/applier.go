package worker

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Applier runs the worker's apply path on manifests in memory, without
// NATS: the unchanged-digest check against the inventory, the dry-run
// gate, the staged parallel apply, prune and the inventory write. It
// skips the health wait. Benchmarks use it to time exactly what a sync
// does with the cluster.
type Applier struct {
	kube *kube
}

// NewApplier connects to the cluster of cfg with opts' client settings.
func NewApplier(cfg *rest.Config, opts Options) (*Applier, error) {
	opts.Cluster = "bench"
	k, err := newKube(cfg, opts.withDefaults())
	if err != nil {
		return nil, err
	}
	return &Applier{kube: k}, nil
}

// Apply brings ds's app to data (its manifests) as a sync would, and
// returns the result. A digest that the app's inventory already records
// is skipped without reading data.
func (a *Applier) Apply(ctx context.Context, ds *ferryv1.DesiredState, data []byte) (*ferryv1.SyncResult, error) {
	res := newResult(ds, "", time.Now())
	inv, err := a.kube.loadInventory(ctx, ds.GetApp())
	if err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), err
	}
	if ds.GetDigest() != "" && inv.digest == ds.GetDigest() && inv.namespace == ds.GetNamespace() {
		res.Objects = withAction(inv.objects, ferryv1.Action_ACTION_UNCHANGED)
		return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, "unchanged: digest already applied"), nil
	}
	if _, _, err := a.kube.applyRevision(ctx, ds, data, inv, res); err != nil {
		return finish(res, ferryv1.Phase_PHASE_FAILED, err.Error()), fmt.Errorf("apply %s: %w", ds.GetApp(), err)
	}
	return finish(res, ferryv1.Phase_PHASE_SUCCEEDED, summary(res.Objects)), nil
}
