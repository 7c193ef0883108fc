package telemetry

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Batching of the NATS span exporter: spans wait at most natsBatchTimeout,
// so `ferry trace` sees a push's spans a moment after it ends; at most
// natsQueueSize spans wait, more are dropped by the batch processor
// instead of blocking the span's caller.
const (
	natsBatchTimeout = 250 * time.Millisecond
	natsQueueSize    = 4096
	natsBatchSize    = 256
)

// servicePrefix is the instrumentation scope prefix of Ferry's services;
// the token after it names the service that recorded a span, so spans of
// the all-in-one binary still say ingest, render or apply.
const servicePrefix = "github.com/ferrycd/ferry/services/"

// NATSExporter is an OpenTelemetry span exporter that publishes every
// finished span as a ferryv1.Span on subject.Span(traceID, origin), which
// stream FERRY_TRACES keeps, so a push can be followed without a tracing
// backend.
// It publishes with core NATS (no acks to wait for): while the connection
// is down, spans are dropped and counted, never buffered or waited on.
type NATSExporter struct {
	nc      *nats.Conn
	service string
	origin  string

	published atomic.Uint64
	dropped   atomic.Uint64
}

// NewNATSExporter returns an exporter publishing on nc. service names the
// recording process for spans whose instrumentation scope is not one of
// Ferry's services; origin is the last part of the span subjects (see
// subject.Span), service when empty.
func NewNATSExporter(nc *nats.Conn, service, origin string) *NATSExporter {
	if origin == "" {
		origin = service
	}
	return &NATSExporter{nc: nc, service: service, origin: origin}
}

// NATSSpans returns a batching span processor that exports to NATS with a
// NATSExporter; pass it to Setup. Ending a span never blocks on NATS.
func NATSSpans(nc *nats.Conn, service, origin string) sdktrace.SpanProcessor {
	return sdktrace.NewBatchSpanProcessor(NewNATSExporter(nc, service, origin),
		sdktrace.WithBatchTimeout(natsBatchTimeout),
		sdktrace.WithMaxQueueSize(natsQueueSize),
		sdktrace.WithMaxExportBatchSize(natsBatchSize))
}

// ExportSpans publishes spans. It never fails: spans that cannot be sent
// are counted in Dropped, since a trace is worth less than the pipeline.
func (e *NATSExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if !e.nc.IsConnected() {
		e.dropped.Add(uint64(len(spans)))
		return nil
	}
	for _, s := range spans {
		if ctx.Err() != nil {
			e.dropped.Add(1)
			continue
		}
		data, err := proto.Marshal(e.toProto(s))
		if err != nil {
			e.dropped.Add(1)
			continue
		}
		if err := e.nc.Publish(subject.Span(s.SpanContext().TraceID().String(), e.origin), data); err != nil {
			e.dropped.Add(1)
			continue
		}
		e.published.Add(1)
	}
	return nil
}

// Shutdown flushes what was published to the server, within ctx, and
// logs (ctx's logger) how many spans were dropped, if any, so a
// trace with holes can be explained.
func (e *NATSExporter) Shutdown(ctx context.Context) error {
	if e.nc.IsConnected() {
		_ = e.nc.FlushWithContext(ctx)
	}
	if n := e.dropped.Load(); n > 0 {
		logging.From(ctx).Warn("trace spans were not sent to NATS (unreachable or shutting down)", "service", e.service,
			"dropped", n, "published", e.published.Load())
	}
	return nil
}

// Published is how many spans were handed to NATS.
func (e *NATSExporter) Published() uint64 { return e.published.Load() }

// Dropped is how many spans were not sent, e.g. while NATS was unreachable.
func (e *NATSExporter) Dropped() uint64 { return e.dropped.Load() }

// toProto converts s into the wire message.
func (e *NATSExporter) toProto(s sdktrace.ReadOnlySpan) *ferryv1.Span {
	out := &ferryv1.Span{
		TraceId:       s.SpanContext().TraceID().String(),
		SpanId:        s.SpanContext().SpanID().String(),
		Name:          s.Name(),
		Service:       e.serviceOf(s),
		StartUnixNano: s.StartTime().UnixNano(),
		EndUnixNano:   s.EndTime().UnixNano(),
	}
	if p := s.Parent(); p.IsValid() {
		out.ParentSpanId = p.SpanID().String()
	}
	if attrs := s.Attributes(); len(attrs) > 0 {
		out.Attributes = make(map[string]string, len(attrs))
		for _, a := range attrs {
			out.Attributes[string(a.Key)] = a.Value.Emit()
		}
	}
	if st := s.Status(); st.Code == codes.Error {
		out.Status = "error: " + st.Description
	}
	return out
}

// serviceOf names the service that recorded s: ferry-<service> from a
// Ferry instrumentation scope, else the resource's service name when one
// was set, else the exporter's.
func (e *NATSExporter) serviceOf(s sdktrace.ReadOnlySpan) string {
	if rest, ok := strings.CutPrefix(s.InstrumentationScope().Name, servicePrefix); ok {
		name, _, _ := strings.Cut(rest, "/")
		if name != "" {
			return "ferry-" + name
		}
	}
	if r := s.Resource(); r != nil {
		if v, ok := r.Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" && !strings.HasPrefix(v.AsString(), "unknown_service") {
			return v.AsString()
		}
	}
	return e.service
}
