package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// subject, waiting for JetStream's ack. Each event's message id is its
// transitionID, so a redelivered webhook, and a captured signed body
// replayed under new delivery ids, is stored once within the stream's
// duplicate window (JetStream acks it as a duplicate: 202 with
// "duplicate": true). PushEvent.id stays the host's delivery id (with
// "#<n>" for the n-th further ref of one Bitbucket webhook), for logs.
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
		ack, err := events.Publish(pctx, h.js, subject.GitPush(ev.GetRepoKey()), ev,
			transitionID(ev.GetRepoKey(), ev.GetRef(), ev.GetBefore(), ev.GetAfter()))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		res.Duplicate = res.Duplicate || ack.Duplicate
		res.seq = ack.Sequence
	}
	return res, nil
}

// transitionID is the Nats-Msg-Id of a push event:
// "push:<repo key>:<first 16 bytes of sha256(ref NUL before NUL after), hex>".
// It names what the push did, not how it was delivered: the delivery id is
// a header no signature covers, so keying on it let one captured body be
// stored once per made-up id. It is the same whichever host or hook
// reports the push, and different for every step of a real sequence
// (X→A, A→B, B→A are three ids). The NUL separators cannot occur in a
// valid ref or object id, so no two transitions share the hashed bytes.
func transitionID(repoKey, ref, before, after string) string {
	var buf [256]byte // on the stack for any usual ref
	in := append(append(append(append(append(buf[:0], ref...), 0), before...), 0), after...)
	sum := sha256.Sum256(in)
	var id [32]byte
	hex.Encode(id[:], sum[:16])
	return "push:" + repoKey + ":" + string(id[:])
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
