package driftwatch

import (
	"strconv"
	"strings"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// withoutIgnored returns a copy of obj without the fields its ignore rules
// name, so self-heal does not take back a field another writer owns (an
// HPA's replicas): Ferry stops declaring it and the live value stays.
func withoutIgnored(obj *unstructured.Unstructured, rules []jsondiff.IgnoreRule) (*unstructured.Unstructured, error) {
	if len(rules) == 0 {
		return obj, nil
	}
	compiled, err := jsondiff.CompileIgnoreRules(rules)
	if err != nil {
		return nil, err
	}
	out := obj.DeepCopy()
	for sel, paths := range compiled {
		if sel != nil && !sel.MatchUnstructured(out) {
			continue
		}
		for _, p := range paths {
			removePointer(out.Object, p)
		}
	}
	return out, nil
}

// removePointer deletes the value at an RFC 6901 JSON pointer, if present.
func removePointer(obj map[string]any, pointer string) {
	toks := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	var cur any = obj
	for i, tok := range toks {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		last := i == len(toks)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				delete(c, tok)
				return
			}
			cur = c[tok]
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(c) || last {
				return // removing array items would shift the others: leave them
			}
			cur = c[n]
		default:
			return
		}
	}
}
