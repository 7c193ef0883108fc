package e2e

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferrycd/ferry/pkg/pushhook"
)

// TestOneTracePerPush: ingest, render and apply spans of one push share one
// trace id, carried through NATS headers.
func TestOneTracePerPush(t *testing.T) {
	ctx := context.Background()
	const app = "traced"
	repo := newRepo(t, "platform-trace")
	res := results(t, app)
	sha := commitAndPush(t, repo, appFiles(repo.URL, app, 1), "add")
	if err := pipe.Webhook(ctx, pushhook.GitHub, repo, pushhook.ZeroSHA, sha, "trace-1"); err != nil {
		t.Fatal(err)
	}
	waitResult(t, res, sha)

	// Find the apply span of this revision, then every span of its trace.
	var traceID trace.TraceID
	eventually(t, "apply span recorded", func() bool {
		for _, s := range spans.GetSpans() {
			if s.Name == "apply.sync" && hasAttr(s.Attributes, "ferry.revision", sha) {
				traceID = s.SpanContext.TraceID()
				return true
			}
		}
		return false
	})
	names := map[string]bool{}
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID() == traceID {
			names[s.Name] = true
		}
	}
	for _, want := range []string{"ingest.webhook", "render.push", "apply.sync"} {
		if !names[want] {
			t.Errorf("trace %s has no %q span; spans in it: %v", traceID, want, names)
		}
	}
}

func hasAttr(attrs []attribute.KeyValue, key, value string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.AsString() == value {
			return true
		}
	}
	return false
}
