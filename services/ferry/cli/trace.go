package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// spanAttrs are the attributes a trace tree shows next to a span's name.
var spanAttrs = []string{"ferry.app", "ferry.cluster", "ferry.revision", "ferry.object", "ferry.health"}

// spanView is one span in -o json|yaml, in tree order.
type spanView struct {
	SpanID       string            `json:"spanId"`
	ParentSpanID string            `json:"parentSpanId,omitempty"`
	Name         string            `json:"name"`
	Service      string            `json:"service"`
	Depth        int               `json:"depth"`
	Start        string            `json:"start"`
	OffsetMs     float64           `json:"offsetMs"`
	DurationMs   float64           `json:"durationMs"`
	Status       string            `json:"status,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
}

// runTrace is `ferry trace PUSH-ID|COMMIT`.
func runTrace(ctx context.Context, e *env, c *fleet.Client, ref string) error {
	traceID, spans, err := c.Trace(ctx, ref)
	if err != nil {
		return err
	}
	views := treeOrder(spans)
	if e.structured() {
		return e.printData(map[string]any{"traceId": traceID, "spans": views})
	}
	first, last := spans[0].GetStartUnixNano(), int64(0)
	for _, s := range spans {
		last = max(last, s.GetEndUnixNano())
	}
	fmt.Fprintf(e.out, "trace %s: %d spans over %s\n\n", traceID, len(spans), time.Duration(last-first).Round(100*time.Microsecond))
	t := newTable(e.out, "OFFSET", "DURATION", "SERVICE", "SPAN")
	for _, v := range views {
		name := strings.Repeat("  ", v.Depth) + v.Name
		var attrs []string
		for _, k := range spanAttrs {
			if val := v.Attributes[k]; val != "" {
				if k == "ferry.revision" {
					val = fleet.Short(val)
				}
				attrs = append(attrs, strings.TrimPrefix(k, "ferry.")+"="+val)
			}
		}
		if len(attrs) > 0 {
			name += "  " + strings.Join(attrs, " ")
		}
		if v.Status != "" {
			name += "  " + v.Status
		}
		t.row(fmt.Sprintf("%.1fms", v.OffsetMs), fmt.Sprintf("%.1fms", v.DurationMs), v.Service, name)
	}
	return t.flush()
}

// treeOrder lays spans out depth first, each level in start order; a span
// whose parent is not among them is a root.
func treeOrder(spans []*ferryv1.Span) []spanView {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.GetSpanId()] = true
	}
	children := map[string][]*ferryv1.Span{}
	var roots []*ferryv1.Span
	for _, s := range spans {
		if p := s.GetParentSpanId(); p != "" && ids[p] && p != s.GetSpanId() {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(a, b *ferryv1.Span) int { return cmp.Compare(a.GetStartUnixNano(), b.GetStartUnixNano()) }
	slices.SortStableFunc(roots, byStart)
	first := int64(0)
	if len(spans) > 0 {
		first = slices.MinFunc(spans, byStart).GetStartUnixNano()
	}
	var out []spanView
	seen := map[string]bool{}
	var walk func(s *ferryv1.Span, depth int)
	walk = func(s *ferryv1.Span, depth int) {
		if seen[s.GetSpanId()] {
			return
		}
		seen[s.GetSpanId()] = true
		out = append(out, spanView{SpanID: s.GetSpanId(), ParentSpanID: s.GetParentSpanId(), Name: s.GetName(), Service: s.GetService(),
			Depth: depth, Start: time.Unix(0, s.GetStartUnixNano()).UTC().Format(time.RFC3339Nano),
			OffsetMs:   millis(time.Duration(s.GetStartUnixNano() - first)),
			DurationMs: millis(time.Duration(s.GetEndUnixNano() - s.GetStartUnixNano())),
			Status:     s.GetStatus(), Attributes: s.GetAttributes()})
		kids := children[s.GetSpanId()]
		slices.SortStableFunc(kids, byStart)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}
