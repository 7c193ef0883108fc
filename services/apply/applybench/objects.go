// Package applybench measures the apply worker's apply path against a real
// API server, side by side with kubectl and with a bare client-go floor,
// and returns the numbers for `go test -bench` and the ferrybench harness.
package applybench

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Manifests returns n small objects for namespace ns, 60% ConfigMaps, 20%
// Services and 20% Deployments, as one multi-document YAML stream.
func Manifests(ns string, n int) []byte {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		switch i % 5 {
		case 0, 1, 2:
			fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata: {name: cm-%[1]d, namespace: %[2]s}
data: {index: "%[1]d", greeting: hello}
`, i, ns)
		case 3:
			fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata: {name: svc-%[1]d, namespace: %[2]s}
spec:
  selector: {app: app-%[1]d}
  ports: [{port: 80, targetPort: 8080}]
`, i, ns)
		case 4:
			fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata: {name: deploy-%[1]d, namespace: %[2]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: app-%[1]d}}
  template:
    metadata: {labels: {app: app-%[1]d}}
    spec:
      containers: [{name: main, image: registry.k8s.io/pause:3.10}]
`, i, ns)
		}
	}
	return []byte(b.String())
}

// parse splits a Manifests stream into objects.
func parse(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}
