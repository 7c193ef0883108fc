package driftwatch

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	wjson "github.com/wI2L/jsondiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Limits of a drift summary, so an alert stays readable.
const (
	maxLines     = 12
	maxValueLen  = 80
	redacted     = "(redacted)"
	missingValue = "(absent)"
)

// Summarize describes how live differs from desired (the dry-run result of
// applying the desired object), one line per changed field, e.g.
// "/spec/replicas: 3 → 1" (live → desired). Volatile metadata and status
// are left out; Secret values are never shown.
func Summarize(live, desired *unstructured.Unstructured) string {
	if live == nil || desired == nil {
		return ""
	}
	l, d := comparable(live), comparable(desired)
	patch, err := wjson.Compare(l, d)
	if err != nil {
		return "could not compute diff: " + err.Error()
	}
	secret := live.GetKind() == "Secret"
	lines := make([]string, 0, len(patch))
	for _, op := range patch {
		path := op.Path
		was, is := lookup(l, path), render(op.Value)
		switch op.Type {
		case wjson.OperationRemove:
			is = missingValue
		case wjson.OperationAdd:
			was = missingValue
		}
		if secret && (strings.HasPrefix(path, "/data") || strings.HasPrefix(path, "/stringData")) {
			was, is = redactUnlessAbsent(was), redactUnlessAbsent(is)
		}
		lines = append(lines, fmt.Sprintf("%s: %s → %s", path, was, is))
	}
	sort.Strings(lines)
	if len(lines) > maxLines {
		more := len(lines) - maxLines
		lines = append(lines[:maxLines], fmt.Sprintf("… and %d more", more))
	}
	return strings.Join(lines, "\n")
}

// comparable strips what every write changes and nobody declares.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	return c.Object
}

func redactUnlessAbsent(v string) string {
	if v == missingValue {
		return v
	}
	return redacted
}

// lookup returns the value at a JSON pointer in obj, rendered.
func lookup(obj map[string]any, pointer string) string {
	var cur any = obj
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return missingValue
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return missingValue
			}
			cur = c[i]
		default:
			return missingValue
		}
	}
	return render(cur)
}

func render(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > maxValueLen {
		s = s[:maxValueLen] + "…"
	}
	return s
}
