package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestNATSExporterPublishesSpans: finished spans of one trace land on the
// trace's subject in FERRY_TRACES with their parent, service, times,
// attributes and error status.
func TestNATSExporterPublishesSpans(t *testing.T) {
	_, nc, js := natstest.JetStream(t)
	ctx := t.Context()
	exp := NewNATSExporter(nc, "ferry-test", "")
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(50*time.Millisecond)))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	pctx, parent := tp.Tracer(servicePrefix+"render/renderer").Start(ctx, "render.push")
	_, child := tp.Tracer("example.com/other").Start(pctx, "other.step")
	child.SetAttributes(attribute.String("ferry.app", "web"), attribute.Int("n", 3))
	child.SetStatus(codes.Error, "boom")
	child.End()
	parent.End()
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	traceID := parent.SpanContext().TraceID().String()

	cons, err := js.OrderedConsumer(ctx, subject.StreamTraces, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject.Span(traceID, "ferry-test")}})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*ferryv1.Span{}
	for len(byName) < 2 {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read spans of %s: %v (have %d)", traceID, err, len(byName))
		}
		s := &ferryv1.Span{}
		if err := proto.Unmarshal(msg.Data(), s); err != nil {
			t.Fatal(err)
		}
		byName[s.GetName()] = s
	}
	p, c := byName["render.push"], byName["other.step"]
	if p == nil || c == nil {
		t.Fatalf("spans: %v", byName)
	}
	if p.GetService() != "ferry-render" || p.GetParentSpanId() != "" || p.GetTraceId() != traceID {
		t.Errorf("parent span: %v", p)
	}
	if c.GetService() != "ferry-test" || c.GetParentSpanId() != p.GetSpanId() {
		t.Errorf("child span: service %q parent %q, want ferry-test and %q", c.GetService(), c.GetParentSpanId(), p.GetSpanId())
	}
	if c.GetAttributes()["ferry.app"] != "web" || c.GetAttributes()["n"] != "3" || c.GetStatus() != "error: boom" {
		t.Errorf("child attributes %v status %q", c.GetAttributes(), c.GetStatus())
	}
	if p.GetEndUnixNano() < p.GetStartUnixNano() || c.GetStartUnixNano() < p.GetStartUnixNano() {
		t.Errorf("times: parent %d..%d child %d", p.GetStartUnixNano(), p.GetEndUnixNano(), c.GetStartUnixNano())
	}
	if exp.Published() != 2 || exp.Dropped() != 0 {
		t.Errorf("published %d dropped %d, want 2 and 0", exp.Published(), exp.Dropped())
	}
}

// TestNATSExporterDropsWhileDisconnected: with NATS gone, ending spans
// does not block, and the exporter counts what it could not send.
func TestNATSExporterDropsWhileDisconnected(t *testing.T) {
	srv, err := natsserver.Start(natsserver.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	srv.Shutdown()
	srv.WaitForShutdown()
	deadline := time.Now().Add(5 * time.Second)
	for nc.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if nc.IsConnected() {
		t.Fatal("still connected after the server stopped")
	}
	exp := NewNATSExporter(nc, "ferry-test", "")
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(NATSSpans(nc, "ferry-test", "")), sdktrace.WithBatcher(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10_000 { // more than the processor's queue holds
			_, s := tp.Tracer("x").Start(context.Background(), "s")
			s.End()
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ending spans blocked while NATS was down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.ForceFlush(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if exp.Dropped() == 0 || exp.Published() != 0 {
		t.Errorf("dropped %d published %d, want some dropped and none published", exp.Dropped(), exp.Published())
	}
}
