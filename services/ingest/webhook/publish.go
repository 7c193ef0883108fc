package webhook

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// headerRoom is what a message's headers (trace context, Nats-Msg-Id) may
// take of the server's max payload.
const headerRoom = 4 << 10

// publish completes each event and publishes it on its repository's
// subject, waiting for JetStream's ack. The message id is
// "<provider>:<delivery id>" (with "#<n>" for the n-th further ref of one
// Bitbucket webhook), so a redelivered webhook is stored once.
func (h *handler) publish(ctx context.Context, p *provider, delivery string, evs []*ferryv1.PushEvent, received time.Time) (*result, error) {
	nc := h.js.Conn()
	if nc != nil && !nc.IsConnected() {
		return nil, fmt.Errorf("%w: nats connection is %s", ErrUnavailable, nc.Status())
	}
	res := &result{ID: delivery, Events: len(evs)}
	for i, ev := range evs {
		ev.Id = delivery
		if i > 0 {
			ev.Id = delivery + "#" + strconv.Itoa(i)
		}
		ev.Provider = p.name
		ev.RepoKey = subject.RepoKey(ev.GetCloneUrl())
		ev.ReceivedUnixNano = received.UnixNano()
		if nc != nil {
			fit(ev, int(nc.MaxPayload())-headerRoom)
		}
		if i == 0 {
			res.repo, res.ref, res.after = ev.GetRepoKey(), ev.GetRef(), ev.GetAfter()
			if span := trace.SpanFromContext(ctx); span.IsRecording() {
				span.SetAttributes(
					attribute.String("ferry.repo", ev.GetRepoKey()),
					attribute.String("ferry.ref", ev.GetRef()),
					attribute.String("ferry.after", ev.GetAfter()),
					attribute.String("ferry.delivery", delivery))
			}
		}
		pctx, cancel := context.WithTimeout(ctx, h.opts.PublishTimeout)
		ack, err := events.Publish(pctx, h.js, subject.GitPush(ev.GetRepoKey()), ev, p.name+":"+ev.GetId())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		res.Duplicate = res.Duplicate || ack.Duplicate
		res.seq = ack.Sequence
	}
	return res, nil
}

// fit trims an event that would not fit in one NATS message: commit
// messages first, then the oldest listed commits. The event still names
// the pushed revision; render reads the rest from Git.
func fit(ev *ferryv1.PushEvent, limit int) {
	if limit <= 0 || proto.Size(ev) <= limit {
		return
	}
	const maxMessage = 1 << 10
	for _, c := range ev.Commits {
		if len(c.Message) > maxMessage {
			c.Message = c.Message[:maxMessage]
		}
	}
	for len(ev.Commits) > 0 && proto.Size(ev) > limit {
		ev.Commits = ev.Commits[len(ev.Commits)/2+len(ev.Commits)%2:]
	}
}
