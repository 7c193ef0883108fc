package driftwatch

import (
	"testing"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestWithoutIgnored(t *testing.T) {
	dep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"replicas": int64(2), "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "web", "image": "web:1"}}}}},
	}}
	rules := []jsondiff.IgnoreRule{
		{Paths: []string{"/spec/replicas", "/spec/template/spec/containers/0/image"}, Selector: &jsondiff.Selector{Kind: "Deployment"}},
		{Paths: []string{"/spec/template"}, Selector: &jsondiff.Selector{Kind: "StatefulSet"}},
	}
	got, err := withoutIgnored(dep, rules)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "replicas"); found {
		t.Error("replicas still declared")
	}
	c, _, _ := unstructured.NestedSlice(got.Object, "spec", "template", "spec", "containers")
	if img := c[0].(map[string]any)["image"]; img != nil || c[0].(map[string]any)["name"] != "web" {
		t.Errorf("container = %v, want only the image removed", c[0])
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas"); !found {
		t.Error("the desired object itself was modified")
	}
}
