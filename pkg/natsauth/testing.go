package natsauth

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ferrycd/ferry/pkg/natsserver"
)

// StartForTest starts a server for set on a free loopback port with its
// store in t.TempDir(), and shuts it down when the test ends.
func StartForTest(t testing.TB, set *Set) *server.Server {
	t.Helper()
	srv, err := Start(natsserver.Options{Port: -1, StoreDir: t.TempDir(), Name: t.Name()}, set)
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}
