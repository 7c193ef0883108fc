package fleet

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// publishTraced publishes m on subj with a traceparent of traceID.
func (e *env) publishTraced(subj, traceID string, m proto.Message) {
	e.t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	msg := nats.NewMsg(subj)
	msg.Data = data
	msg.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if _, err := e.js.PublishMsg(e.t.Context(), msg); err != nil {
		e.t.Fatal(err)
	}
}

// TestTraceFindsAPushByIDOrCommit: a push id, its commit or a prefix of it
// find the push's trace; its spans come in start order.
func TestTraceFindsAPushByIDOrCommit(t *testing.T) {
	e := newEnv(t)
	const tid, other = "0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319d"
	sha := "4f2c9a1e7b3d5f60718293a4b5c6d7e8f9012345"
	e.publishTraced(subject.GitPush("repo"), tid, &ferryv1.PushEvent{Id: "d-1", Provider: "github", After: sha})
	e.publishTraced(subject.Desired("prod", "web"), other, &ferryv1.DesiredState{App: "web", Revision: "9999999aaaa", PushId: "d-2"})
	// One span on the subject spans had before they named their origin,
	// one from ingest, and one that prod's worker published claiming to be
	// render's: the subject tells who published it.
	e.publish(subject.Span(tid, "ferry-render"), &ferryv1.Span{TraceId: tid, SpanId: "b", ParentSpanId: "a", Name: "render.push", Service: "ferry-render", StartUnixNano: 20, EndUnixNano: 30})
	e.publish(subject.Trace(tid), &ferryv1.Span{TraceId: tid, SpanId: "a", Name: "ingest.webhook", Service: "ferry-ingest", StartUnixNano: 10, EndUnixNano: 15})
	e.publish(subject.Span(tid, subject.WorkerSpanOrigin("prod")), &ferryv1.Span{TraceId: tid, SpanId: "c", ParentSpanId: "b", Name: "apply.sync", Service: "ferry-render", StartUnixNano: 40, EndUnixNano: 50})
	for _, ref := range []string{"d-1", "github:d-1", sha, sha[:7], tid} {
		id, spans, err := e.c.Trace(t.Context(), ref)
		if err != nil || id != tid || len(spans) != 3 || spans[0].GetName() != "ingest.webhook" || spans[1].GetService() != "ferry-render" {
			t.Errorf("Trace(%q) = %q, %v, %v", ref, id, spans, err)
			continue
		}
		if s := spans[2]; s.GetService() != "ferry-apply" || s.GetAttributes()[SpanClusterAttribute] != "prod" {
			t.Errorf("Trace(%q): the worker's span says %s %v, want ferry-apply published by prod", ref, s.GetService(), s.GetAttributes())
		}
	}
	// A desired state names its push and revision too; this trace has no spans.
	if id, _, err := e.c.Trace(t.Context(), "9999999"); id != other || !errors.Is(err, ErrNotFound) {
		t.Errorf("Trace of a revision without spans = %q, %v", id, err)
	}
	if _, _, err := e.c.Trace(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trace of an unknown ref: %v", err)
	}
}
