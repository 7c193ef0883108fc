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
	for _, s := range []*ferryv1.Span{
		{TraceId: tid, SpanId: "b", ParentSpanId: "a", Name: "render.push", StartUnixNano: 20, EndUnixNano: 30},
		{TraceId: tid, SpanId: "a", Name: "ingest.webhook", StartUnixNano: 10, EndUnixNano: 15},
	} {
		e.publish(subject.Trace(tid), s)
	}
	for _, ref := range []string{"d-1", "github:d-1", sha, sha[:7], tid} {
		id, spans, err := e.c.Trace(t.Context(), ref)
		if err != nil || id != tid || len(spans) != 2 || spans[0].GetName() != "ingest.webhook" {
			t.Errorf("Trace(%q) = %q, %v, %v", ref, id, spans, err)
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
