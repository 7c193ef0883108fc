package driftwatch

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The informer cache serves three readers, and slim keeps only what they
// read, so a worker watching thousands of objects holds a fraction of them:
//
//   - event handlers: the app label (enqueue) and generation, labels and
//     annotations (statusOnly); the comparison itself reads the live object
//     through a server-side dry run, never the cache;
//   - health (the worker's waitHealth): kstatus reads metadata.generation
//     and deletionTimestamp, a few scalar spec fields (replicas, type,
//     clusterIP, parallelism, completions, progressDeadlineSeconds),
//     spec.updateStrategy, and status;
//   - the informer itself: name, namespace and resourceVersion.
//
// Dropped: managedFields (most of a Deployment's size; changedBy reads the
// live object), pod and job templates, and top-level payloads such as a
// ConfigMap's or Secret's data, which also keeps secret values out of the
// worker's memory.

// keptMetadata are the metadata fields slim keeps.
var keptMetadata = []string{"name", "namespace", "uid", "resourceVersion", "generation", "labels", "annotations", "deletionTimestamp"}

// droppedSpec are the spec fields slim drops: templates of what a workload
// creates, which kstatus does not read.
var droppedSpec = []string{"template", "jobTemplate", "volumeClaimTemplates"}

// slim is the informers' transform: it reduces a watched object to the
// fields above, in place.
func slim(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	for k := range u.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "status":
		default:
			delete(u.Object, k)
		}
	}
	if md, ok := u.Object["metadata"].(map[string]any); ok {
		kept := make(map[string]any, len(keptMetadata))
		for _, k := range keptMetadata {
			if v, ok := md[k]; ok {
				kept[k] = v
			}
		}
		u.Object["metadata"] = kept
	}
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		for _, k := range droppedSpec {
			delete(spec, k)
		}
	}
	return u, nil
}
