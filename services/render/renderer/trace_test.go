package renderer

import (
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// The trace of the push continues into render.push and one render.app span
// per app × destination.
func TestTraceContinuesFromPush(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	e := newEnv(t, Options{})
	r := e.repo("traced")
	sha, err := r.CommitAndPush(e.ctx, map[string]string{
		"ferry.yaml":  platformYAML("  - {name: tr, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: a}, {cluster: b}]}\n"),
		"app/cm.yaml": configMap("cm"),
	}, "traced")
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(e.ctx, "ingest.webhook")
	ev := &ferryv1.PushEvent{Id: "traced-1", RepoKey: subject.RepoKey(r.URL), CloneUrl: r.URL, Ref: "refs/heads/main", After: sha}
	e.pushes.Add(1)
	if _, err := events.Publish(ctx, e.js, subject.GitPush(ev.RepoKey), ev, ev.Id); err != nil {
		t.Fatal(err)
	}
	parent.End()
	e.waitDesired("b", "tr", sha)
	e.waitSettled()

	var push sdktrace.ReadOnlySpan
	var apps []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "render.push":
			push = s
		case "render.app":
			apps = append(apps, s)
		}
	}
	if push == nil || push.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("render.push does not continue the publisher's span: %v", push)
	}
	if len(apps) != 2 {
		t.Fatalf("render.app spans = %d, want 2", len(apps))
	}
	for _, s := range apps {
		if s.Parent().SpanID() != push.SpanContext().SpanID() {
			t.Errorf("render.app is not a child of render.push")
		}
		attrs := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value.Emit()
		}
		if attrs["ferry.app"] != "tr" || attrs["ferry.revision"] != sha || (attrs["ferry.cluster"] != "a" && attrs["ferry.cluster"] != "b") {
			t.Errorf("render.app attributes = %v", attrs)
		}
	}
}
