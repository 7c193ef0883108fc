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

// readTimeout bounds one read of a stream when ctx has no deadline.
const readTimeout = 10 * time.Second

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
	cons, err := c.js.OrderedConsumer(ctx, streamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: policy,
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", streamName, err)
	}
	out := make([]stored, 0, want)
	for {
		batch, err := cons.FetchNoWait(min(max(want-len(out), 1), 256))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", streamName, err)
		}
		n := 0
		var pending uint64
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", streamName, err)
			}
			pending = meta.NumPending
			out = append(out, stored{subject: msg.Subject(), seq: meta.Sequence.Stream, at: meta.Timestamp,
				traceID: TraceIDFrom(msg.Headers().Get("traceparent")), data: msg.Data()})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read %s: %w", streamName, err)
		}
		if n > 0 && pending == 0 {
			return out, nil
		}
		if n == 0 {
			// Nothing arrived yet (the consumer is being created, or
			// messages were removed since the count): wait a little.
			if len(out) >= want {
				return out, nil
			}
			select {
			case <-ctx.Done():
				return out, fmt.Errorf("read %s: %w", streamName, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
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
