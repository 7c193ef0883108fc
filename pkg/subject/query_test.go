package subject

import "testing"

func TestSpanSubjects(t *testing.T) {
	const id = "0af7651916cd43dd8448eb211c80319c"
	for subj, want := range map[string]string{
		Span(id, "ferry-render"):           "ferry-render",
		Span(id, WorkerSpanOrigin("prod")): "apply.prod",
		Trace(id):                          "",
		"ferry.status.prod.web":            "",
	} {
		if got := SpanOrigin(subj); got != want {
			t.Errorf("SpanOrigin(%q) = %q, want %q", subj, got, want)
		}
	}
	if Span(id, WorkerSpanOrigin("prod")) != "ferry.trace."+id+".apply.prod" || WorkerSpans("prod") != "ferry.trace.*.apply.prod" {
		t.Errorf("worker span subjects %q %q", Span(id, WorkerSpanOrigin("prod")), WorkerSpans("prod"))
	}
}
