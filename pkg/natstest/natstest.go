// Package natstest gives tests an embedded NATS server with JetStream and
// Ferry's streams, connected. It lives apart from pkg/natsserver so that
// pkg/stream's own tests can use natsserver without an import cycle.
package natstest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
)

// JetStream starts a server as natsserver.StartForTest does, connects to
// it and creates Ferry's streams, KV buckets and object stores. The
// connection is closed when the test ends, before the server stops.
func JetStream(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := natsserver.StartForTest(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	if err := stream.Ensure(t.Context(), js, stream.DefaultOptions()); err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
	return srv, nc, js
}
