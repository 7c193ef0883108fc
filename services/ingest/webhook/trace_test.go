package webhook

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	"github.com/ferrycd/ferry/pkg/telemetry"
)

// TestTraceContinuesIntoNATS: a traceparent on the webhook is continued by
// the ingest.webhook span, whose context lands in the stored message's headers.
func TestTraceContinuesIntoNATS(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	shutdown, err := telemetry.Setup(context.Background(), "ingest-test", rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })

	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	body := fixture(t, "github-push.json")
	h := githubHeaders("push", "traced", body)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h.Set("Traceparent", parent)
	seq := lastSeq(t, js)
	if status, resp := post(t, http.DefaultClient, base+"/webhooks/github", h, bytes.NewReader(body)); status != http.StatusAccepted {
		t.Fatalf("status %d (%v)", status, resp)
	}

	var span sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == SpanName {
			span = s
		}
	}
	if span == nil {
		t.Fatalf("no %s span among %d", SpanName, len(rec.Ended()))
	}
	if got := span.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %s, want the caller's", got)
	}
	if got := span.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !span.Parent().IsRemote() {
		t.Errorf("parent %s (remote %v), want the caller's span", got, span.Parent().IsRemote())
	}
	attrs := map[attribute.Key]string{}
	for _, a := range span.Attributes() {
		attrs[a.Key] = a.Value.Emit()
	}
	for k, v := range map[attribute.Key]string{
		"ferry.provider": "github", "ferry.repo": subject.RepoKey("https://github.com/binkkatal/sample_app.git"),
		"ferry.after": "fd489864e7642b48eaad6e3f155c10e46810ec72", "http.response.status_code": "202",
	} {
		if attrs[k] != v {
			t.Errorf("span attribute %s = %q, want %q", k, attrs[k], v)
		}
	}

	_, raws := storedAfter(t, js, seq)
	if len(raws) != 1 {
		t.Fatalf("stored %d", len(raws))
	}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), events.HeaderCarrier(raws[0].Header)))
	if sc.TraceID() != span.SpanContext().TraceID() || sc.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("message traceparent %q, want the ingest span %s", raws[0].Header.Get("traceparent"), span.SpanContext().SpanID())
	}
}
