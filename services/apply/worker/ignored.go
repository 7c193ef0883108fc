package worker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/services/apply/driftwatch"
)

// keepIgnored makes every object of objs that an ignore rule matches
// re-declare the live value of each field the rule names, so that a new
// revision does not take back what another writer set (an HPA's
// replicas): applying the live value changes nothing and fights no one.
// A field the live object lacks, or an object that does not exist yet,
// keeps its rendered value (on create Git's value is the start value).
// Only the matched objects are read, with up to k.workers GETs at once;
// the first error other than NotFound is returned.
func (k *kube) keepIgnored(ctx context.Context, objs []*unstructured.Unstructured, rules []jsondiff.IgnoreRule) error {
	if len(rules) == 0 {
		return nil
	}
	compiled, err := jsondiff.CompileIgnoreRules(rules)
	if err != nil {
		return permanent(fmt.Errorf("compile ignore rules: %w", err))
	}
	var matched []*unstructured.Unstructured
	var pointers [][]string
	for _, u := range objs {
		if ps := driftwatch.IgnoredPointers(u, compiled); len(ps) > 0 {
			matched, pointers = append(matched, u), append(pointers, ps)
		}
	}
	errs := make([]error, len(matched))
	parallel(ctx, len(matched), k.workers, func(i int) {
		errs[i] = k.copyLive(ctx, matched[i], pointers[i])
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// copyLive reads u's live object and sets each of pointers in u to the
// live value, where the live object has one.
func (k *kube) copyLive(ctx context.Context, u *unstructured.Unstructured, pointers []string) error {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil // created by this sync (its kind may come with it): Git's values
		}
		return fmt.Errorf("read live %s for ignoreDifferences: %w", utils.FmtUnstructured(u), err)
	}
	for _, p := range pointers {
		copyAt(u.Object, live.Object, p)
	}
	return nil
}

// copyAt sets the value at an RFC 6901 JSON pointer in dst to a copy of
// the one in src, when src has one. Objects missing on the way in dst are
// created with only the pointer's path in them; a path through a list
// item dst does not have is left as it is (a partial list would declare
// other items).
func copyAt(dst, src map[string]any, pointer string) {
	if pointer == "" {
		return // the whole object: nothing to copy field by field
	}
	toks := driftwatch.PointerTokens(pointer)
	var d, s any = dst, src
	for i, tok := range toks {
		last := i == len(toks)-1
		switch sc := s.(type) {
		case map[string]any:
			dc, ok := d.(map[string]any)
			sv, found := sc[tok]
			if !ok || !found {
				return
			}
			if last {
				dc[tok] = runtime.DeepCopyJSONValue(sv)
				return
			}
			if dc[tok] == nil {
				if v, ok := along(sv, toks[i+1:]); ok {
					dc[tok] = v
				}
				return
			}
			d, s = dc[tok], sv
		case []any:
			dc, ok := d.([]any)
			n, err := strconv.Atoi(tok)
			if !ok || err != nil || n < 0 || n >= len(sc) || n >= len(dc) {
				return
			}
			if last {
				dc[n] = runtime.DeepCopyJSONValue(sc[n])
				return
			}
			d, s = dc[n], sc[n]
		default:
			return
		}
	}
}

// along returns a copy of the path toks in v, objects holding only that
// path down to its value, or false when v lacks it or it crosses a list.
func along(v any, toks []string) (any, bool) {
	if len(toks) == 0 {
		return runtime.DeepCopyJSONValue(v), true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	child, found := m[toks[0]]
	if !found {
		return nil, false
	}
	sub, ok := along(child, toks[1:])
	if !ok {
		return nil, false
	}
	return map[string]any{toks[0]: sub}, true
}
