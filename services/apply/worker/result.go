package worker

import (
	"errors"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// newResult starts the SyncResult of ds; the caller fills phase, message
// and objects, and finish stamps the end time.
func newResult(ds *ferryv1.DesiredState, cluster string, started time.Time) *ferryv1.SyncResult {
	return &ferryv1.SyncResult{
		App:              ds.GetApp(),
		Cluster:          cluster,
		Revision:         ds.GetRevision(),
		Digest:           ds.GetDigest(),
		PushId:           ds.GetPushId(),
		Health:           ferryv1.Health_HEALTH_UNKNOWN,
		StartedUnixNano:  started.UnixNano(),
		ReceivedUnixNano: ds.GetReceivedUnixNano(),
		RepoUrl:          ds.GetRepoUrl(),
	}
}

// finish sets the phase, message and end time of r and returns it.
func finish(r *ferryv1.SyncResult, phase ferryv1.Phase, msg string) *ferryv1.SyncResult {
	r.Phase, r.Message = phase, msg
	r.FinishedUnixNano = time.Now().UnixNano()
	return r
}

// objectResults lists every object of objs with its action from cs. When
// err names the object that failed (a server-side dry-run error), that
// object is FAILED with the API server's message; objects the change set
// does not mention were not applied and are SKIPPED.
func objectResults(objs []*unstructured.Unstructured, cs *ssa.ChangeSet, err error) []*ferryv1.ObjectResult {
	actions := map[object.ObjMetadata]ssa.Action{}
	if cs != nil {
		for _, e := range cs.Entries {
			actions[e.ObjMetadata] = e.Action
		}
	}
	var failed object.ObjMetadata
	var dryRun *ssaerrors.DryRunErr
	if errors.As(err, &dryRun) && dryRun.InvolvedObject() != nil {
		failed = object.UnstructuredToObjMetadata(dryRun.InvolvedObject())
	}
	out := make([]*ferryv1.ObjectResult, 0, len(objs))
	for _, u := range objs {
		id := object.UnstructuredToObjMetadata(u)
		r := &ferryv1.ObjectResult{Ref: refOf(u), Health: ferryv1.Health_HEALTH_UNKNOWN}
		switch a, ok := actions[id]; {
		case ok:
			r.Action = actionOf(a)
		case dryRun != nil && id == failed:
			r.Action, r.Message = ferryv1.Action_ACTION_FAILED, dryRun.Unwrap().Error()
		case err != nil:
			r.Action, r.Message = ferryv1.Action_ACTION_SKIPPED, "not applied: the sync failed"
		default:
			r.Action = ferryv1.Action_ACTION_UNSPECIFIED
		}
		out = append(out, r)
	}
	return out
}

// withAction copies refs into object results that all carry action.
func withAction(refs []*ferryv1.ObjectRef, action ferryv1.Action) []*ferryv1.ObjectResult {
	out := make([]*ferryv1.ObjectResult, len(refs))
	for i, ref := range refs {
		out[i] = &ferryv1.ObjectResult{Ref: ref, Action: action, Health: ferryv1.Health_HEALTH_UNKNOWN}
	}
	return out
}

// refs returns the object references of results.
func refs(results []*ferryv1.ObjectResult) []*ferryv1.ObjectRef {
	out := make([]*ferryv1.ObjectRef, len(results))
	for i, r := range results {
		out[i] = r.GetRef()
	}
	return out
}

// refOf names u in a result.
func refOf(u *unstructured.Unstructured) *ferryv1.ObjectRef {
	gvk := u.GroupVersionKind()
	return &ferryv1.ObjectRef{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
		Namespace: u.GetNamespace(), Name: u.GetName(),
	}
}

// stub turns a reference back into an object with only its identity, for
// deleting what an earlier revision applied.
func stub(ref *ferryv1.ObjectRef) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: ref.GetGroup(), Version: ref.GetVersion(), Kind: ref.GetKind()})
	u.SetNamespace(ref.GetNamespace())
	u.SetName(ref.GetName())
	return u
}

// actionOf maps an ssa action to Ferry's.
func actionOf(a ssa.Action) ferryv1.Action {
	switch a {
	case ssa.CreatedAction:
		return ferryv1.Action_ACTION_CREATED
	case ssa.ConfiguredAction:
		return ferryv1.Action_ACTION_CONFIGURED
	case ssa.UnchangedAction:
		return ferryv1.Action_ACTION_UNCHANGED
	case ssa.DeletedAction:
		return ferryv1.Action_ACTION_DELETED
	case ssa.SkippedAction:
		return ferryv1.Action_ACTION_SKIPPED
	default:
		return ferryv1.Action_ACTION_UNSPECIFIED
	}
}
