package natsserver

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
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
