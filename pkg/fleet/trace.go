package fleet

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// minCommitPrefix is the shortest commit prefix Trace accepts.
const minCommitPrefix = 4

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Trace finds the trace of one push and returns its id and the spans
// FERRY_TRACES holds of it, in start order. ref is a push id (the Git
// host's delivery id, with or without "<provider>:"), a commit sha or a
// prefix of at least four characters, or a trace id. The trace id comes
// from the traceparent header of the newest matching push event, else
// desired state, else sync result.
//
// An unknown ref is an error wrapping ErrNotFound; so is a trace without
// spans, returned with its id (spans arrive a moment after each step ends,
// and only from services that publish them).
func (c *Client) Trace(ctx context.Context, ref string) (traceID string, spans []*ferryv1.Span, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", nil, fmt.Errorf("trace needs a push id or a commit")
	}
	if traceIDPattern.MatchString(ref) {
		traceID = ref
	} else if traceID, err = c.findTrace(ctx, ref); err != nil {
		return "", nil, err
	}
	// Spans stored before they named their origin are on the bare subject.
	var msgs []stored
	for _, filter := range []string{subject.TraceSpans(traceID), subject.Trace(traceID)} {
		m, err := c.read(ctx, subject.StreamTraces, filter, false)
		if err != nil {
			return traceID, nil, err
		}
		msgs = append(msgs, m...)
	}
	for _, m := range msgs {
		s := &ferryv1.Span{}
		if err := decodeInto(m, s); err != nil {
			return traceID, nil, err
		}
		attribute(s, subject.SpanOrigin(m.subject))
		spans = append(spans, s)
	}
	if len(spans) == 0 {
		return traceID, nil, fmt.Errorf("%w: no spans of trace %s in %s yet: spans arrive a moment after each step, are kept 7 days, and only come from services that publish them", ErrNotFound, traceID, subject.StreamTraces)
	}
	slices.SortStableFunc(spans, func(a, b *ferryv1.Span) int { return cmp.Compare(a.GetStartUnixNano(), b.GetStartUnixNano()) })
	return traceID, spans, nil
}

// findTrace returns the trace id of the newest message matching ref in
// FERRY_GIT, else FERRY_DESIRED, else FERRY_STATUS.
func (c *Client) findTrace(ctx context.Context, ref string) (string, error) {
	lookups := []struct {
		stream, filter string
		match          func(stored) (commit string, ok bool, err error)
	}{
		{subject.StreamGit, subject.AllGit, func(m stored) (string, bool, error) {
			ev := &ferryv1.PushEvent{}
			if err := decodeInto(m, ev); err != nil {
				return "", false, err
			}
			id := ev.GetId()
			return ev.GetAfter(), id != "" && (ref == id || ref == ev.GetProvider()+":"+id) || commitMatch(ev.GetAfter(), ref), nil
		}},
		{subject.StreamDesired, subject.AllDesired, func(m stored) (string, bool, error) {
			ds := &ferryv1.DesiredState{}
			if err := decodeInto(m, ds); err != nil {
				return "", false, err
			}
			return ds.GetRevision(), (ds.GetPushId() != "" && ds.GetPushId() == ref) || commitMatch(ds.GetRevision(), ref), nil
		}},
		{subject.StreamStatus, subject.AllStatus, func(m stored) (string, bool, error) {
			res := &ferryv1.SyncResult{}
			if err := decodeInto(m, res); err != nil {
				return "", false, err
			}
			return res.GetRevision(), (res.GetPushId() != "" && res.GetPushId() == ref) || commitMatch(res.GetRevision(), ref), nil
		}},
	}
	for _, l := range lookups {
		msgs, err := c.read(ctx, l.stream, l.filter, false)
		if err != nil {
			return "", err
		}
		var traceID, commit string
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			if m.traceID == "" {
				continue
			}
			got, ok, err := l.match(m)
			if err != nil || !ok {
				continue
			}
			if traceID == "" {
				traceID, commit = m.traceID, got
			} else if got != commit && commitMatch(got, ref) && commitMatch(commit, ref) {
				return "", fmt.Errorf("%q names more than one commit (%s, %s): give more of the sha", ref, Short(commit), Short(got))
			}
		}
		if traceID != "" {
			return traceID, nil
		}
	}
	return "", fmt.Errorf("%w: no push, desired state or result with push id or commit %q (FERRY_GIT keeps pushes 7 days): check the id with ferry history or ferry events", ErrNotFound, ref)
}

// commitMatch reports whether ref is rev or a prefix of it long enough.
func commitMatch(rev, ref string) bool {
	return rev != "" && (rev == ref || (len(ref) >= minCommitPrefix && strings.HasPrefix(rev, ref)))
}

// attribute makes a span published by an apply worker say so, whatever
// it claims: a worker's NATS user may publish spans only under its own
// origin (subject.WorkerSpanOrigin), so the subject is the truth.
func attribute(s *ferryv1.Span, origin string) {
	cluster, ok := subject.WorkerSpanCluster(origin)
	if !ok {
		return
	}
	s.Service = "ferry-apply"
	if s.Attributes == nil {
		s.Attributes = map[string]string{}
	}
	s.Attributes[SpanClusterAttribute] = cluster
}

// SpanClusterAttribute names, on a span from an apply worker, the
// cluster whose worker published it.
const SpanClusterAttribute = "ferry.published_by_cluster"
