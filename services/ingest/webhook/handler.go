package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferrycd/ferry/pkg/logging"
)

// TracerName is the OpenTelemetry instrumentation scope of ingest spans.
const TracerName = "github.com/ferrycd/ferry/services/ingest"

// SpanName is the name of the span around each webhook.
const SpanName = "ingest.webhook"

// propagator continues a caller's W3C trace context even when the global
// propagator was never installed.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// handler verifies, parses and publishes webhooks.
type handler struct {
	js        jetstream.JetStream
	opts      Options
	providers map[string]*provider
	tracer    trace.Tracer
	// limits bound each body and all bodies in flight together.
	limits bodyLimits
}

// NewHandler returns the ingest HTTP handler: POST /webhooks/{github,gitlab,
// gitea,bitbucket}, POST /webhooks (provider detected from the headers),
// GET /healthz and GET /readyz. Zero options take their defaults. A
// provider without a secret is not an error here: its webhooks are refused
// with 401 and a log line naming the flag to set. Loggers come from the
// request context (logging.From), which Run fills from its own context.
func NewHandler(js jetstream.JetStream, opts Options) (http.Handler, error) {
	_, hh, err := newHandler(js, opts)
	return hh, err
}

// newHandler is NewHandler, also returning the handler behind the mux.
func newHandler(js jetstream.JetStream, opts Options) (*handler, http.Handler, error) {
	if js == nil {
		return nil, nil, errors.New("ingest handler needs a jetstream client")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	h := &handler{js: js, opts: opts, providers: providers(opts), tracer: otel.Tracer(TracerName),
		limits: bodyLimits{max: opts.MaxBodyBytes, mem: newBodyMem(opts.MaxInflightBytes), wait: opts.InflightWait}}
	mux := http.NewServeMux()
	for name, p := range h.providers {
		mux.HandleFunc("POST /webhooks/"+name, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, p) })
	}
	mux.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, h.providers[detect(r.Header)])
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.ready)
	return h, recoverer(mux), nil
}

// result describes a published webhook, for the response and the log.
type result struct {
	ID        string
	Events    int
	Duplicate bool
	repo, ref string
	after     string
	seq       uint64
}

// serve runs one webhook inside a span and answers it.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, p *provider) {
	received := time.Now()
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := h.tracer.Start(ctx, SpanName, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("ferry.provider", providerName(p))))
	defer span.End()
	res, err := h.handle(ctx, w, r, p, received)
	if err != nil {
		h.drain(r)
	}
	h.respond(ctx, w, r, span, p, res, err, received)
}

// drain discards what is left of a refused request's body, at most
// MaxBodyBytes of it, through io.Discard's small shared buffer: nothing of
// it is kept, hashed or parsed, and the server's ReadTimeout bounds the
// time. Without it the server closes a connection with unread bytes, and
// a host still sending its body gets a reset instead of the 401, 413 or
// 503: a host with a wrong secret could not tell why, a busy one could not
// see Retry-After. It costs no memory, and no more reading than a forged
// signature of the right shape makes ingest do anyway.
func (h *handler) drain(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	_, _ = io.CopyN(io.Discard, r.Body, h.opts.MaxBodyBytes)
}

// handle checks the request in order (secret configured, signature or
// token present and well-formed, GitLab's token valid, stated size: all
// before the body is read; then room in the in-flight budget, the body
// read with its HMAC computed on the way, the HMAC valid, event kind,
// payload) and publishes its events.
func (h *handler) handle(ctx context.Context, w http.ResponseWriter, r *http.Request, p *provider, received time.Time) (*result, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: no X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Gogs-Event or X-Event-Key header", ErrUnknownProvider)
	}
	if len(p.secret) == 0 {
		return nil, fmt.Errorf("%w for %s webhooks: set %s or %s", ErrNoSecret, p.name, p.flag, p.env)
	}
	sig := p.signature(r.Header)
	if sig == "" {
		return nil, fmt.Errorf("%w: %s request without a signature or token header", ErrMissingSignature, p.name)
	}
	v, err := p.auth(p.secret, sig)
	if err != nil {
		return nil, err
	}
	b, err := readBody(ctx, w, r, h.limits, v.writer())
	defer b.release()
	if err != nil {
		return nil, err
	}
	if err := v.verify(); err != nil {
		return nil, err
	}
	event := p.event(r.Header)
	if event == "" {
		return nil, fmt.Errorf("%w: %s request without an event header", ErrMalformed, p.name)
	}
	if !p.isPush(event) {
		return nil, fmt.Errorf("%w: %s event %q", ErrNotPush, p.name, clip(event))
	}
	// A verified push: only now may its body cost memory outside the budget.
	body := b.bytes()
	evs, err := p.parse(body)
	if err != nil {
		return nil, err
	}
	delivery := deliveryID(p, r.Header, body)
	// The body is dead (parse copied what it keeps): its buffer and budget
	// need not wait for JetStream's ack.
	b.release()
	return h.publish(ctx, p, delivery, evs, received)
}

// respond writes the status for err and logs the outcome exactly once.
// Neither the body nor any secret is logged.
func (h *handler) respond(ctx context.Context, w http.ResponseWriter, r *http.Request, span trace.Span, p *provider, res *result, err error, received time.Time) {
	status := statusOf(err)
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	level, msg := slog.LevelInfo, "webhook accepted"
	switch {
	case err == nil:
	case errors.Is(err, ErrNotPush):
		msg = "webhook ignored"
	case status >= 500 && !errors.Is(err, ErrBusy):
		level, msg = slog.LevelError, "webhook rejected"
		span.SetStatus(codes.Error, err.Error())
	default: // refused, or shed for load (ErrBusy): the sender's doing, not a fault of ingest
		level, msg = slog.LevelWarn, "webhook rejected"
		if recording {
			span.SetAttributes(attribute.String("ferry.reject_reason", err.Error()))
		}
	}
	if log := logging.From(ctx); log.Enabled(ctx, level) {
		attrs := make([]slog.Attr, 0, 12)
		attrs = append(attrs, slog.String("provider", providerName(p)), slog.Int("status", status),
			slog.String("remote", r.RemoteAddr), slog.Duration("duration", time.Since(received)))
		if err != nil {
			attrs = append(attrs, slog.String("reason", err.Error()))
			if p != nil {
				attrs = append(attrs, slog.String("delivery", clip(p.delivery(r.Header))))
			}
		} else {
			attrs = append(attrs, slog.String("id", res.ID), slog.String("repo", res.repo), slog.String("ref", res.ref),
				slog.String("after", res.after), slog.Int("events", res.Events), slog.Bool("duplicate", res.Duplicate),
				slog.Uint64("seq", res.seq))
		}
		log.LogAttrs(ctx, level, msg, attrs...)
	}
	switch {
	case err == nil:
		writeAccepted(w, res)
	case errors.Is(err, ErrNotPush):
		writeJSON(w, status, map[string]string{"status": "ignored", "reason": err.Error()})
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, status, map[string]string{"status": "rejected", "error": err.Error()})
	case status == http.StatusInternalServerError:
		writeJSON(w, status, map[string]string{"status": "rejected", "error": "internal error"})
	default:
		writeJSON(w, status, map[string]string{"status": "rejected", "error": err.Error()})
	}
}

// providerName names p for logs and spans.
func providerName(p *provider) string {
	if p == nil {
		return "unknown"
	}
	return p.name
}

// ready answers 200 while the NATS connection is usable, else 503.
func (h *handler) ready(w http.ResponseWriter, _ *http.Request) {
	nc := h.js.Conn()
	if nc == nil || !nc.IsConnected() {
		status := "no connection"
		if nc != nil {
			status = nc.Status().String()
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "nats": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "nats": nc.Status().String()})
}

// writeAccepted answers 202 with the delivery id, without reflection: it
// is the hot path.
func writeAccepted(w http.ResponseWriter, res *result) {
	b := make([]byte, 0, 96+len(res.ID))
	b = append(b, `{"status":"accepted","id":`...)
	b = strconv.AppendQuote(b, res.ID)
	b = append(b, `,"events":`...)
	b = strconv.AppendInt(b, int64(res.Events), 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, res.Duplicate)
	b = append(b, "}\n"...)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recoverer turns a panic in a handler into a logged 500.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logging.From(r.Context()).Error("panic in webhook handler", "panic", fmt.Sprint(v), "path", r.URL.Path, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "rejected", "error": "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
