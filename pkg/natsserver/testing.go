package natsserver

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/stream"
)

// StartForTest starts an embedded server on a free loopback port with its
// store in t.TempDir(), and shuts it down when the test ends.
func StartForTest(t testing.TB) *server.Server {
	t.Helper()
	srv, err := Start(Options{Port: -1, StoreDir: t.TempDir(), Name: t.Name()})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// JetStreamForTest starts a server as StartForTest does, connects to it
// and creates Ferry's streams, KV buckets and object stores. The
// connection is closed when the test ends, before the server stops.
func JetStreamForTest(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := StartForTest(t)
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
