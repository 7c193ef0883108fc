package driftwatch

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSummarizeRedactsSecrets(t *testing.T) {
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s", "resourceVersion": "9"},
		"data": map[string]any{"password": "aHVudGVyMg=="},
	}}
	desired := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s", "resourceVersion": "10"},
		"data": map[string]any{"password": "c2VjcmV0", "token": "dG9r"},
	}}
	got := Summarize(live, desired)
	if strings.Contains(got, "aHVudGVyMg") || strings.Contains(got, "c2VjcmV0") || strings.Contains(got, "dG9r") {
		t.Fatalf("secret value leaked: %q", got)
	}
	for _, want := range []string{"/data/password: (redacted) → (redacted)", "/data/token: (absent) → (redacted)"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "resourceVersion") {
		t.Errorf("volatile metadata in summary: %q", got)
	}
}

func TestSummarizeTruncates(t *testing.T) {
	data := map[string]any{}
	for _, k := range strings.Split("a b c d e f g h i j k l m n o p", " ") {
		data[k] = k
	}
	live := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "data": map[string]any{}}}
	desired := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "data": data}}
	got := Summarize(live, desired)
	if n := strings.Count(got, "\n") + 1; n != maxLines+1 || !strings.HasSuffix(got, "… and 4 more") {
		t.Errorf("summary has %d lines: %q", n, got)
	}
}
