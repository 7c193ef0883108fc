package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/normalize"
	"github.com/fluxcd/pkg/ssa/utils"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// planned is one object of a sync on its way through the dry-run gate and
// the apply.
type planned struct {
	obj *unstructured.Unstructured
	// definition is true for stage-1 objects: CRDs, Namespaces, ClusterRoles
	// and class definitions (StorageClass, IngressClass, ...).
	definition bool
	// deferred is true while the object cannot be dry-run because it needs
	// a definition of the same set that is not applied yet.
	deferred bool
	action   ferryv1.Action
	applied  bool  // the CREATED or CONFIGURED object was sent
	err      error // the API server's answer for a FAILED object
}

// applySet applies objs with server-side apply behind a server-side dry-run
// gate, in two stages, with up to objectWorkers requests in flight.
//
// The exact semantics:
//
//  1. Every object is dry-run (apply, dryRun=All, field manager ferry, force).
//     Objects whose dry run can only fail because a definition of this
//     same set does not exist yet (a namespace of a Namespace in the set,
//     a kind of a CRD in the set) are deferred to step 3.
//  2. If any other dry run fails, nothing at all is applied: the error
//     lists each failing object with the API server's message.
//     Otherwise the changed definitions (stage 1) are applied and waited
//     for (CRD Established, Namespace Active), as ssa's ApplyAllStaged does.
//  3. The deferred objects are dry-run now. If one fails, the rest of the
//     set (stage 2) is not applied; stage 1 stays applied (definitions
//     alone run no workload), which is the one case where a failed sync
//     changed the cluster.
//  4. The changed stage-2 objects are applied, in parallel.
//
// Unchanged objects (the dry-run result equals the live object, compared as
// ssa compares them) are not sent again, so their resourceVersion stays.
// The returned plans carry one action per object; on error the objects
// not applied are SKIPPED and the failing ones FAILED.
func (k *kube) applySet(ctx context.Context, objs []*unstructured.Unstructured) ([]*planned, error) {
	plans := stage(objs)
	defs := definitions(plans)

	k.checkAll(ctx, plans, defs)
	if err := gate(ctx, plans); err != nil {
		return plans, err
	}
	var stage1 []*planned
	for _, p := range plans {
		if p.definition {
			stage1 = append(stage1, p)
		}
	}
	if err := k.applyChanged(ctx, stage1); err != nil {
		return plans, err
	}
	if err := k.waitDefinitions(ctx, stage1); err != nil {
		return plans, err
	}

	var deferred, stage2 []*planned
	for _, p := range plans {
		if p.deferred {
			deferred = append(deferred, p)
		}
		if !p.definition {
			stage2 = append(stage2, p)
		}
	}
	if len(deferred) > 0 {
		for _, p := range deferred {
			p.deferred = false
		}
		k.checkAll(ctx, deferred, setDefinitions{})
		if err := gate(ctx, plans); err != nil {
			return plans, err
		}
	}
	return plans, k.applyChanged(ctx, stage2)
}

// stage wraps objs into plans, marking stage-1 definitions.
func stage(objs []*unstructured.Unstructured) []*planned {
	plans := make([]*planned, len(objs))
	for i, u := range objs {
		utils.RemoveCABundleFromCRD(u)
		plans[i] = &planned{obj: u, definition: utils.IsClusterDefinition(u) || utils.IsClassDefinition(u)}
	}
	return plans
}

// setDefinitions are the namespaces and custom kinds a set defines itself.
type setDefinitions struct {
	namespaces map[string]bool
	kinds      map[schema.GroupKind]bool
}

// definitions collects the Namespaces and CRD kinds among plans.
func definitions(plans []*planned) setDefinitions {
	d := setDefinitions{namespaces: map[string]bool{}, kinds: map[schema.GroupKind]bool{}}
	objs := make([]*unstructured.Unstructured, 0, len(plans))
	for _, p := range plans {
		objs = append(objs, p.obj)
		if utils.IsNamespace(p.obj) {
			d.namespaces[p.obj.GetName()] = true
		}
	}
	for gk := range crdScopes(objs) {
		d.kinds[gk] = true
	}
	return d
}

// needsSetDefinition reports whether err only says that a definition
// from the same set is missing.
func (d setDefinitions) needsSetDefinition(u *unstructured.Unstructured, err error) bool {
	gk := u.GroupVersionKind().GroupKind()
	if d.kinds[gk] && (meta.IsNoMatchError(err) || apierrors.IsNotFound(err)) {
		return true
	}
	if ns := u.GetNamespace(); ns != "" && d.namespaces[ns] && apierrors.IsNotFound(err) {
		return true
	}
	return false
}

// checkAll dry-runs every plan in parallel and sets its action, deferral
// or error.
func (k *kube) checkAll(ctx context.Context, plans []*planned, defs setDefinitions) {
	parallel(ctx, len(plans), k.workers, func(i int) {
		p := plans[i]
		action, err := k.check(ctx, p.obj)
		switch {
		case err == nil:
			p.action = action
		case defs.needsSetDefinition(p.obj, err):
			p.deferred = true
		default:
			p.action, p.err = ferryv1.Action_ACTION_FAILED, explain(p.obj, namespaceHint(p.obj, err))
		}
	})
}

// check dry-runs u and compares the result with the live object: CREATED
// when there is none, CONFIGURED when applying would change it, UNCHANGED
// otherwise. The live object is only read when the dry run says it exists.
func (k *kube) check(ctx context.Context, u *unstructured.Unstructured) (ferryv1.Action, error) {
	dry := u.DeepCopy()
	if err := k.client.Patch(ctx, dry, client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner(k.fieldManager)); err != nil {
		return ferryv1.Action_ACTION_FAILED, err
	}
	if dry.GetResourceVersion() == "" {
		return ferryv1.Action_ACTION_CREATED, nil
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		if apierrors.IsNotFound(err) { // deleted between the two requests
			return ferryv1.Action_ACTION_CREATED, nil
		}
		return ferryv1.Action_ACTION_FAILED, err
	}
	if drifted(live, dry) {
		return ferryv1.Action_ACTION_CONFIGURED, nil
	}
	return ferryv1.Action_ACTION_UNCHANGED, nil
}

// drifted compares a live object with the dry-run result of applying the
// desired one: labels, annotations and everything outside metadata and
// status, normalized the way ssa normalizes them.
func drifted(live, dry *unstructured.Unstructured) bool {
	if !apiequality.Semantic.DeepEqual(live.GetLabels(), dry.GetLabels()) ||
		!apiequality.Semantic.DeepEqual(live.GetAnnotations(), dry.GetAnnotations()) {
		return true
	}
	return !apiequality.Semantic.DeepEqual(forDiff(live).Object, forDiff(dry).Object)
}

// forDiff is a copy of u without metadata and status, normalized.
func forDiff(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata")
	unstructured.RemoveNestedField(c.Object, "status")
	if err := normalize.DryRunUnstructured(c); err != nil {
		return u
	}
	return c
}

// applyChanged applies the CREATED and CONFIGURED plans in parallel. An
// object the API server refuses is FAILED; the error names every one.
func (k *kube) applyChanged(ctx context.Context, plans []*planned) error {
	parallel(ctx, len(plans), k.workers, func(i int) {
		p := plans[i]
		if p.action != ferryv1.Action_ACTION_CREATED && p.action != ferryv1.Action_ACTION_CONFIGURED {
			return
		}
		obj := p.obj.DeepCopy()
		if err := k.client.Patch(ctx, obj, client.Apply, client.ForceOwnership, client.FieldOwner(k.fieldManager)); err != nil {
			p.action, p.err = ferryv1.Action_ACTION_FAILED, explain(p.obj, err)
			return
		}
		p.applied = true
	})
	if err := failures(plans, stepApply); err != nil {
		return err
	}
	return ctx.Err()
}

// waitDefinitions waits until the applied stage-1 objects are ready
// (CRDs established, Namespaces active), as ApplyAllStaged does.
func (k *kube) waitDefinitions(ctx context.Context, plans []*planned) error {
	var set object.ObjMetadataSet
	for _, p := range plans {
		if p.action == ferryv1.Action_ACTION_CREATED || p.action == ferryv1.Action_ACTION_CONFIGURED {
			set = append(set, object.UnstructuredToObjMetadata(p.obj))
		}
	}
	if len(set) == 0 {
		return nil
	}
	err := k.manager.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: definitionPoll, Timeout: definitionTimeout})
	if err != nil {
		return fmt.Errorf("wait for definitions: %w", err)
	}
	return nil
}

// Definition waits: CRDs are usually established within a second.
const (
	definitionPoll    = 100 * time.Millisecond
	definitionTimeout = time.Minute
)

// gate returns an error naming every FAILED plan, or ctx's error when it
// ended before every plan was checked, or nil.
func gate(ctx context.Context, plans []*planned) error {
	if err := failures(plans, stepDryRun); err != nil {
		return err
	}
	return ctx.Err()
}

// nothingApplied reports whether err is the dry-run gate's refusal and
// no object of plans was sent to the API server.
func nothingApplied(plans []*planned, err error) bool {
	var se *setError
	if !errors.As(err, &se) || se.step != stepDryRun {
		return false
	}
	for _, p := range plans {
		if p.applied {
			return false
		}
	}
	return true
}

// Steps of a sync a setError names.
const (
	stepDryRun = "dry run"
	stepApply  = "apply"
)

// failures returns a *setError for the FAILED plans, or nil.
func failures(plans []*planned, step string) error {
	var failed []*planned
	for _, p := range plans {
		if p.err != nil {
			failed = append(failed, p)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &setError{step: step, failed: failed}
}

// setError is a dry run or apply refused for one or more objects. It is
// permanent only when every object's error is: one transient failure
// (connection refused, 5xx, conflict) makes the whole sync worth a retry.
type setError struct {
	step   string
	failed []*planned
}

func (e *setError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed for %d object(s): ", e.step, len(e.failed))
	for i, p := range e.failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.failed)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", utils.FmtUnstructured(p.obj), p.err)
	}
	return b.String()
}

// permanent reports whether every object failed permanently.
func (e *setError) permanent() bool {
	for _, p := range e.failed {
		if !isPermanent(p.err) {
			return false
		}
	}
	return true
}

// Unwrap returns the first transient error, or the first error when all
// are permanent, so isPermanent and errors.As see the deciding one.
func (e *setError) Unwrap() error {
	for _, p := range e.failed {
		if !isPermanent(p.err) {
			return p.err
		}
	}
	return e.failed[0].err
}

// parallel runs fn(0..n-1) with at most workers at once and waits for all;
// once ctx ends the remaining indexes are not started.
func parallel(ctx context.Context, n, workers int, fn func(i int)) {
	if n == 0 {
		return
	}
	workers = max(1, min(workers, n))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}
