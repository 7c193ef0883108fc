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
	for _, p := range IgnoredPointers(out, compiled) {
		removePointer(out.Object, p)
	}
	return out, nil
}

// IgnoredPointers returns the JSON pointers that compiled names for obj:
// the paths of every rule whose selector matches it, nil when none does.
// Self-heal and the apply worker use it to leave the same fields alone.
func IgnoredPointers(obj *unstructured.Unstructured, compiled jsondiff.CompiledIgnoreRules) []string {
	var out []string
	for sel, paths := range compiled {
		if sel != nil && !sel.MatchUnstructured(obj) {
			continue
		}
		out = append(out, paths...)
	}
	return out
}

// PointerTokens splits an RFC 6901 JSON pointer into its reference
// tokens, unescaped ("~1" is "/", "~0" is "~").
func PointerTokens(pointer string) []string {
	toks := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	for i, tok := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	return toks
}

// removePointer deletes the value at an RFC 6901 JSON pointer, if present.
func removePointer(obj map[string]any, pointer string) {
	toks := PointerTokens(pointer)
	var cur any = obj
	for i, tok := range toks {
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
