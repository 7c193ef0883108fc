package driftwatch

import (
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// slimCases are live objects in the states kstatus tells apart.
var slimCases = map[string]string{
	"deployment rolling out": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns, generation: 2, labels: {app: d}, managedFields: [{manager: ferry}]}
spec:
  replicas: 3
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: d}}
  template: {metadata: {labels: {app: d}}, spec: {containers: [{name: c, image: i}]}}
status:
  observedGeneration: 2
  replicas: 3
  updatedReplicas: 1
  readyReplicas: 1
  availableReplicas: 1
  conditions: [{type: Progressing, status: "True", reason: ReplicaSetUpdated}, {type: Available, status: "False"}]
`,
	"deployment available": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns, generation: 1}
spec: {replicas: 1, template: {spec: {containers: [{name: c, image: i}]}}}
status:
  observedGeneration: 1
  replicas: 1
  updatedReplicas: 1
  readyReplicas: 1
  availableReplicas: 1
  conditions: [{type: Progressing, status: "True", reason: NewReplicaSetAvailable}, {type: Available, status: "True"}]
`,
	"deployment not observed yet": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns, generation: 3}
spec: {replicas: 1}
status: {observedGeneration: 2}
`,
	"statefulset partitioned": `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, namespace: ns, generation: 1}
spec:
  replicas: 2
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}
  template: {spec: {containers: [{name: c, image: i}]}}
  volumeClaimTemplates: [{metadata: {name: data}}]
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 1, updatedReplicas: 1, currentRevision: a, updateRevision: b}
`,
	"job running": `
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: ns, generation: 1}
spec: {parallelism: 2, completions: 4, template: {spec: {containers: [{name: c, image: i}]}}}
status: {startTime: "2026-01-01T00:00:00Z", active: 2, succeeded: 1}
`,
	"service waiting for a load balancer": `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {type: LoadBalancer, clusterIP: 10.0.0.1, ports: [{port: 80}]}
status: {loadBalancer: {}}
`,
	"object being deleted": `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns, deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: [x]}
data: {key: value}
`,
	"custom resource stalled": `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: ns, generation: 4}
spec: {size: 3}
status: {observedGeneration: 4, conditions: [{type: Stalled, status: "True", reason: Broken, message: broken}]}
`,
}

// TestSlimKeepsHealth proves the informer transform keeps every field
// kstatus reads: each object's status is the same before and after.
func TestSlimKeepsHealth(t *testing.T) {
	for name, doc := range slimCases {
		t.Run(name, func(t *testing.T) {
			full := parse(t, doc)
			want, err := status.Compute(full)
			if err != nil {
				t.Fatal(err)
			}
			slimmed, err := slim(full.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			got, err := status.Compute(slimmed.(*unstructured.Unstructured))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != want.Status || got.Message != want.Message {
				t.Errorf("status after slim = %s %q, before %s %q", got.Status, got.Message, want.Status, want.Message)
			}
		})
	}
}

// TestSlimDrops shows what the cache no longer holds, and what the event
// handlers still read.
func TestSlimDrops(t *testing.T) {
	u := parse(t, `
apiVersion: v1
kind: Secret
metadata:
  name: s
  namespace: ns
  generation: 1
  labels: {ferry.dev/app: a}
  annotations: {note: kept}
  managedFields: [{manager: ferry}]
  creationTimestamp: "2026-01-01T00:00:00Z"
type: Opaque
data: {password: c2VjcmV0}
`)
	out, err := slim(u)
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*unstructured.Unstructured)
	for _, path := range [][]string{{"data"}, {"type"}, {"metadata", "managedFields"}, {"metadata", "creationTimestamp"}} {
		if _, found, _ := unstructured.NestedFieldNoCopy(s.Object, path...); found {
			t.Errorf("%v still cached", path)
		}
	}
	if s.GetName() != "s" || s.GetNamespace() != "ns" || s.GetGeneration() != 1 ||
		s.GetLabels()["ferry.dev/app"] != "a" || s.GetAnnotations()["note"] != "kept" || s.GetKind() != "Secret" {
		t.Errorf("identity, labels or annotations lost: %v", s.Object)
	}
	d := parse(t, slimCases["deployment rolling out"])
	out, _ = slim(d)
	if _, found, _ := unstructured.NestedFieldNoCopy(out.(*unstructured.Unstructured).Object, "spec", "template"); found {
		t.Error("pod template still cached")
	}
}

// parse decodes a YAML object as the informers' decoder does (integers
// as int64).
func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}
