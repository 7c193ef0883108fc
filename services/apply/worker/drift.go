package worker

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/apply/driftwatch"
)

// startDrift starts the drift watch of the objects this worker applies;
// the returned function stops it and waits for it.
func (w *worker) startDrift(ctx context.Context, cfg *rest.Config) (func(), error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = w.opts.QPS, w.opts.Burst
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	publish := func(ctx context.Context, ev *ferryv1.DriftEvent) error {
		_, err := events.Publish(ctx, w.js, subject.Drift(w.opts.Cluster, ev.GetApp()), ev, "")
		return err
	}
	dw, err := driftwatch.New(dyn, w.kube.mapper, w.kube.manager, publish, driftwatch.Options{
		Cluster:         w.opts.Cluster,
		ManagedSelector: LabelManagedBy + "=" + managedByValue,
		AppLabel:        LabelApp,
		FieldManager:    w.opts.FieldManager,
		Resync:          w.opts.DriftResync,
		Suspended:       w.suspended,
	})
	if err != nil {
		return nil, err
	}
	w.drift = dw
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = dw.Run(ctx) })
	return func() { cancel(); wg.Wait() }, nil
}

// suspended reports whether the operator suspended app, which holds its
// self-heal as well as its new revisions. Drift checks call it only for
// apps tracked after an apply, so the controls are loaded by then.
func (w *worker) suspended(app string) bool {
	return w.ctl != nil && w.ctl.get(app).Suspended != nil
}

// track hands the objects just applied to the drift watch.
func (w *worker) track(ctx context.Context, ds *ferryv1.DesiredState, objs []*unstructured.Unstructured) {
	err := w.drift.Track(ctx, driftwatch.AppState{
		App: ds.GetApp(), Revision: ds.GetRevision(), RepoURL: ds.GetRepoUrl(), Objects: objs,
		Ignore: ignoreRules(ds.GetIgnoreDifferences()), SelfHeal: ds.GetSync().GetSelfHeal(),
	})
	if err != nil {
		// The apply succeeded; drift will be found by the next resync.
		logging.From(ctx).Warn("watch applied objects for drift", "error", err)
	}
}

// trackStored tracks a revision applied by an earlier process (the
// inventory's digest matched), rebuilding its objects from the message.
func (w *worker) trackStored(ctx context.Context, ds *ferryv1.DesiredState) {
	if w.drift.Tracks(ds.GetApp(), ds.GetRevision()) {
		return
	}
	data, err := bundle.LoadMax(ctx, w.js, ds, w.opts.MaxBundleBytes)
	if err == nil {
		var objs []*unstructured.Unstructured
		if objs, err = w.kube.prepare(ds, data); err == nil {
			w.track(ctx, ds, objs)
			return
		}
	}
	logging.From(ctx).Warn("watch stored revision for drift", "error", err)
}

// ignoreRules turns the app's ignoreDifferences into ssa's drift rules.
func ignoreRules(in []*ferryv1.IgnoreRule) []jsondiff.IgnoreRule {
	out := make([]jsondiff.IgnoreRule, 0, len(in))
	for _, r := range in {
		out = append(out, jsondiff.IgnoreRule{Paths: r.GetJsonPointers(), Selector: &jsondiff.Selector{
			// ssa matches selectors as regular expressions; ferry.yaml names are exact.
			Group: regexp.QuoteMeta(r.GetGroup()), Kind: regexp.QuoteMeta(r.GetKind()),
			Name: regexp.QuoteMeta(r.GetName()), Namespace: regexp.QuoteMeta(r.GetNamespace()),
		}})
	}
	return out
}

// publishApplied reports that res's objects are applied, before the
// health wait ends: the app is Progressing until the final result. A
// failure here only delays the news; the final result is still published.
func (w *worker) publishApplied(ctx context.Context, res *ferryv1.SyncResult) {
	if w.opts.HealthTimeout < 0 {
		return
	}
	applied := proto.Clone(res).(*ferryv1.SyncResult)
	applied.Health = ferryv1.Health_HEALTH_PROGRESSING
	applied.AwaitingHealth = true
	finish(applied, ferryv1.Phase_PHASE_SUCCEEDED, summary(applied.Objects)+"; waiting for health")
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	// A command's requester sees the progress too (ferry sync shows it).
	w.answerCommand(pctx, applied)
	if _, err := events.Publish(pctx, w.js, subject.Status(w.opts.Cluster, res.GetApp()), applied, ""); err != nil {
		logging.From(ctx).Warn("publish applied result", "error", err)
	}
}
