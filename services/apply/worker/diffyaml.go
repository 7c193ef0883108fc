package worker

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Secret values never leave the worker in a diff: a value both sides
// share shows as redactedValue, a changed one as redactedLive on the live
// side and redactedDesired on the desired side, so a diff still says
// which keys change and nothing of what they hold. The words match the
// drift watch's summaries.
const (
	redactedValue   = "(redacted)"
	redactedLive    = "(redacted, live value)"
	redactedDesired = "(redacted, desired value)"
)

// lastApplied is kubectl's annotation holding a whole object, a Secret's
// data included, when someone ran kubectl apply on it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// diffContext is how many unchanged lines surround each change.
const diffContext = 3

// yamlDiff is a unified diff of live (---) to desired (+++) as YAML,
// without status and the metadata every write changes, Secret values
// redacted. A nil side is an object that does not exist.
func yamlDiff(live, desired *unstructured.Unstructured) string {
	l, d := forYAML(live), forYAML(desired)
	redactSecrets(l, d)
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(toYAML(l)), B: difflib.SplitLines(toYAML(d)),
		FromFile: "live", ToFile: "desired", Context: diffContext,
	})
	if err != nil {
		return "could not compute diff: " + err.Error()
	}
	return diff
}

// forYAML copies u without status and volatile metadata; nil stays nil.
func forYAML(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	c := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	return c
}

// toYAML renders u; nil is the empty document.
func toYAML(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		return fmt.Sprintf("# could not render %s/%s: %v\n", u.GetKind(), u.GetName(), err)
	}
	return string(b)
}

// redactSecrets replaces the values of Secrets' data and stringData, and
// kubectl's last-applied annotation, in live and desired (either may be
// nil), comparing them first so a change stays visible as a change.
func redactSecrets(live, desired *unstructured.Unstructured) {
	if !isSecret(live) && !isSecret(desired) {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		lv, dv := values(live, field), values(desired, field)
		for _, k := range slices.Sorted(maps.Keys(lv)) {
			if d, ok := dv[k]; ok && d == lv[k] {
				lv[k], dv[k] = redactedValue, redactedValue
				continue
			}
			lv[k] = redactedLive
		}
		for k, v := range dv {
			if v != redactedValue {
				dv[k] = redactedDesired
			}
		}
		setValues(live, field, lv)
		setValues(desired, field, dv)
	}
	for _, u := range []*unstructured.Unstructured{live, desired} {
		if u == nil {
			continue
		}
		if a := u.GetAnnotations(); a[lastApplied] != "" {
			a[lastApplied] = redactedValue
			u.SetAnnotations(a)
		}
	}
}

func isSecret(u *unstructured.Unstructured) bool {
	return u != nil && u.GetKind() == "Secret" && u.GroupVersionKind().Group == ""
}

// values returns u's field as a string map (nil u or field: empty).
func values(u *unstructured.Unstructured, field string) map[string]any {
	if u == nil {
		return map[string]any{}
	}
	m, _, _ := unstructured.NestedMap(u.Object, field)
	if m == nil {
		return map[string]any{}
	}
	return m
}

// setValues writes m back as u's field when u has it.
func setValues(u *unstructured.Unstructured, field string, m map[string]any) {
	if u == nil {
		return
	}
	if _, ok := u.Object[field]; ok {
		_ = unstructured.SetNestedMap(u.Object, m, field)
	}
}
