// Package logtest captures what a service logs in a test, so the test can
// wait for a line and check that another never came (a NATS denial, say).
package logtest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/logging"
)

// Buffer is a log sink safe for concurrent loggers.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Context returns parent carrying a text logger that writes to b.
func (b *Buffer) Context(parent context.Context) context.Context {
	return logging.Into(parent, slog.New(slog.NewTextHandler(b, nil)))
}

// WaitFor polls the logs until they contain want, failing the test with
// everything logged after timeout.
func (b *Buffer) WaitFor(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs after %s:\n%s", want, timeout, b.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}
