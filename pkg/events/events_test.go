package events

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

func TestTraceContextRoundTrip(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "publish")
	defer span.End()
	msg, err := NewMsg(ctx, "ferry.git.push.r", &ferryv1.PushEvent{Id: "d1", After: "abc"}, "github:d1")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get(jetstream.MsgIDHeader) != "github:d1" || msg.Header.Get("traceparent") == "" {
		t.Fatalf("headers %v", msg.Header)
	}
	var got ferryv1.PushEvent
	dctx, err := Decode(context.Background(), msg.Header, msg.Data, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAfter() != "abc" {
		t.Errorf("decoded %v", &got)
	}
	if sc := trace.SpanContextFromContext(dctx); sc.TraceID() != span.SpanContext().TraceID() || !sc.IsRemote() {
		t.Errorf("trace id %s, want %s (remote)", sc.TraceID(), span.SpanContext().TraceID())
	}
	if _, err := Decode(context.Background(), nil, []byte{0xff, 0xff}, &got); err == nil {
		t.Error("want an error for a corrupt payload")
	}
}
