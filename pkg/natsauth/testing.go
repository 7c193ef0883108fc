package natsauth

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/ferrycd/ferry/pkg/natsserver"
)

// NewTestSet is NewSet plus Admin, a user allowed everything, for tests
// that publish and read as several components at once. Never use it
// outside tests: no deployment has an unrestricted identity.
func NewTestSet(clusters ...string) (*Set, error) {
	s, err := NewSet(clusters...)
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("create nkey for the test admin: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key of the test admin: %w", err)
	}
	s.Admin = &User{Name: "test-admin", PublicKey: pub, kp: kp}
	return s, nil
}

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

// ExpectDenied runs op (which must fail) and fails t unless the server
// reports, on violations, a permissions violation naming exactly subj.
// Feed violations from the connection's error handler
// (errors.Is(err, nats.ErrPermissionViolation)).
func ExpectDenied(t testing.TB, violations <-chan error, what, subj string, op func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := op(ctx); err == nil {
		t.Errorf("%s: succeeded, want denied", what)
	}
	deadline := time.After(2 * time.Second)
	for {
		select {
		case err := <-violations:
			if strings.Contains(err.Error(), `"`+subj+`"`) {
				t.Logf("%s: %v", what, err)
				return
			}
		case <-deadline:
			t.Errorf("%s: no permissions violation for %q", what, subj)
			return
		}
	}
}
