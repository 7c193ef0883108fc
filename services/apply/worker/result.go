package worker

import (
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
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

// planResults lists every planned object with its action. A FAILED object
// carries the API server's message; an object that was to be created or
// configured but was not sent because the sync stopped is SKIPPED.
func planResults(plans []*planned, err error) []*ferryv1.ObjectResult {
	out := make([]*ferryv1.ObjectResult, 0, len(plans))
	for _, p := range plans {
		r := &ferryv1.ObjectResult{Ref: refOf(p.obj), Action: p.action, Health: ferryv1.Health_HEALTH_UNKNOWN}
		switch {
		case p.err != nil:
			r.Action, r.Message = ferryv1.Action_ACTION_FAILED, p.err.Error()
		case p.action == ferryv1.Action_ACTION_UNCHANGED || p.applied:
		case err != nil:
			r.Action, r.Message = ferryv1.Action_ACTION_SKIPPED, "not applied: the sync failed"
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

// refsMetadata is the kstatus identity set of refs.
func refsMetadata(refs []*ferryv1.ObjectRef) object.ObjMetadataSet {
	out := make(object.ObjMetadataSet, 0, len(refs))
	for _, ref := range refs {
		out = append(out, metadataOf(ref))
	}
	return out
}

// metadataOf is the kstatus identity of ref.
func metadataOf(ref *ferryv1.ObjectRef) object.ObjMetadata {
	return object.ObjMetadata{
		Namespace: ref.GetNamespace(), Name: ref.GetName(),
		GroupKind: schema.GroupKind{Group: ref.GetGroup(), Kind: ref.GetKind()},
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
