package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Reads of stored messages.
const (
	// readTimeout bounds one read of a stream when ctx has no deadline.
	readTimeout = 10 * time.Second
	// readIdle ends a read that has received nothing for this long.
	readIdle = 2 * time.Second
	// readBatch is how many messages one pull asks for.
	readBatch = 256
)

// stored is one message read from a stream.
type stored struct {
	subject string
	seq     uint64
	at      time.Time
	traceID string
	data    []byte
}

// subjects returns the subjects of streamName matching filter with how
// many messages each holds; an empty map when the stream has none.
func (c *Client) subjects(ctx context.Context, streamName, filter string) (map[string]uint64, error) {
	s, err := c.js.Stream(ctx, streamName)
	if err != nil {
		return nil, fmt.Errorf("open stream %s (has any Ferry service run against this NATS?): %w", streamName, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", streamName, err)
	}
	if info.State.Subjects == nil {
		return map[string]uint64{}, nil
	}
	return info.State.Subjects, nil
}

// read returns the messages of streamName matching filter in stream
// order: only the newest per subject when lastPerSubject is set. It reads
// what is stored when it starts and returns; it never waits for more.
func (c *Client) read(ctx context.Context, streamName, filter string, lastPerSubject bool) ([]stored, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readTimeout)
		defer cancel()
	}
	subjects, err := c.subjects(ctx, streamName, filter)
	if err != nil || len(subjects) == 0 {
		return nil, err
	}
	want := 0
	for _, n := range subjects {
		if lastPerSubject {
			want++
		} else {
			want += int(n)
		}
	}
	policy := jetstream.DeliverAllPolicy
	if lastPerSubject {
		policy = jetstream.DeliverLastPerSubjectPolicy
	}
	return c.consume(ctx, streamName, []string{filter}, policy, want)
}

// readSubjects returns every stored message of the given subjects of
// streamName in stream order, with one consumer however many subjects
// there are. Each subject must hold a message: with none at all, the
// read ends only after readIdle.
func (c *Client) readSubjects(ctx context.Context, streamName string, subjects []string) ([]stored, error) {
	if len(subjects) == 0 {
		return nil, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readTimeout)
		defer cancel()
	}
	return c.consume(ctx, streamName, subjects, jetstream.DeliverAllPolicy, len(subjects))
}

// consume reads filters of streamName with one ordered consumer from
// policy's start until nothing is pending. want is how many messages are
// expected, for the buffer. A fetch per batch would recreate an ordered
// consumer each time (and lose a last-per-subject start), so the
// messages are pulled as one flow of up to readBatch at a time.
func (c *Client) consume(ctx context.Context, streamName string, filters []string, policy jetstream.DeliverPolicy, want int) ([]stored, error) {
	cons, err := c.js.OrderedConsumer(ctx, streamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: policy,
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", streamName, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(readBatch))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", streamName, err)
	}
	defer it.Stop()
	out := make([]stored, 0, want)
	for {
		wait, cancel := context.WithTimeout(ctx, readIdle)
		msg, err := it.Next(jetstream.NextContext(wait))
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return out, fmt.Errorf("read %s: %w", streamName, ctx.Err())
		case errors.Is(err, context.DeadlineExceeded):
			// Nothing came for readIdle: the messages counted were
			// removed since (limits), and what is left has been read.
			return out, nil
		default:
			return out, fmt.Errorf("read %s: %w", streamName, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", streamName, err)
		}
		out = append(out, stored{subject: msg.Subject(), seq: meta.Sequence.Stream, at: meta.Timestamp,
			traceID: TraceIDFrom(msg.Headers().Get("traceparent")), data: msg.Data()})
		if meta.NumPending == 0 {
			return out, nil
		}
	}
}

// TraceIDFrom returns the trace id of a W3C traceparent header value
// ("00-<32 hex trace id>-<16 hex span id>-<flags>"), or "".
func TraceIDFrom(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || parts[1] == strings.Repeat("0", 32) {
		return ""
	}
	return parts[1]
}

// decodeInto unmarshals m into v.
func decodeInto(m stored, v proto.Message) error {
	if err := proto.Unmarshal(m.data, v); err != nil {
		return fmt.Errorf("decode %s seq %d: %w", m.subject, m.seq, err)
	}
	return nil
}
