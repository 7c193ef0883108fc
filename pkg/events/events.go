// Package events publishes and decodes Ferry's protobuf events on JetStream,
// carrying W3C trace context in NATS headers so one trace runs from the
// webhook to the last applied object.
package events

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
)

// HeaderCarrier adapts nats.Header to OpenTelemetry's TextMapCarrier.
type HeaderCarrier nats.Header

// Get returns the first value of key.
func (h HeaderCarrier) Get(key string) string { return nats.Header(h).Get(key) }

// Set replaces key's values with value.
func (h HeaderCarrier) Set(key, value string) { nats.Header(h).Set(key, value) }

// Keys lists the header names.
func (h HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// propagator is W3C trace context plus baggage, independent of the global
// one, so the headers are right even when telemetry was never set up.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// NewMsg encodes m as a NATS message on subj with the trace context of ctx
// and, when msgID is set, a Nats-Msg-Id for JetStream dedupe.
func NewMsg(ctx context.Context, subj string, m proto.Message, msgID string) (*nats.Msg, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", m, err)
	}
	msg := nats.NewMsg(subj)
	msg.Data = data
	propagator.Inject(ctx, HeaderCarrier(msg.Header))
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	return msg, nil
}

// Publish encodes m, publishes it on subj and waits for JetStream's ack.
func Publish(ctx context.Context, js jetstream.JetStream, subj string, m proto.Message, msgID string) (*jetstream.PubAck, error) {
	msg, err := NewMsg(ctx, subj, m, msgID)
	if err != nil {
		return nil, err
	}
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", subj, err)
	}
	return ack, nil
}

// Decode unmarshals data into m and returns ctx extended with the trace
// context found in header.
func Decode(ctx context.Context, header nats.Header, data []byte, m proto.Message) (context.Context, error) {
	if header != nil {
		ctx = propagator.Extract(ctx, HeaderCarrier(header))
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return ctx, fmt.Errorf("decode %T: %w", m, err)
	}
	return ctx, nil
}

// DecodeMsg is Decode for a JetStream message.
func DecodeMsg(ctx context.Context, msg jetstream.Msg, m proto.Message) (context.Context, error) {
	return Decode(ctx, msg.Headers(), msg.Data(), m)
}
