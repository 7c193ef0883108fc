package cli

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferrycd/ferry/services/ferry/cli"
)

// syncBuffer is a bytes.Buffer safe to read while the CLI writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// live runs a CLI command until the returned stop is called, which
// returns its exit code.
func live(t *testing.T, out *syncBuffer, args ...string) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	code := make(chan int, 1)
	var errOut syncBuffer
	go func() { code <- cli.Run(ctx, append(args, "--nats-url", pipe.NATS.ClientURL()), out, &errOut) }()
	return func() int {
		cancel()
		c := <-code
		if errOut.String() != "" {
			t.Logf("stderr of ferry %v: %s", args, errOut.String())
		}
		return c
	}
}

// TestWatchAndFollow: get apps --watch prints the table again when a push
// changes the app, and events --follow prints the push's events as they
// happen; Ctrl-C (ctx) ends both with exit code 0.
func TestWatchAndFollow(t *testing.T) {
	a := newApp(t, "watched")
	first, _ := a.push(t, a.files("one", nil), "Say one")
	synced(t, a.name, first)

	var watch, follow syncBuffer
	stopWatch := live(t, &watch, "get", "apps", a.name, "--watch")
	stopFollow := live(t, &follow, "events", "--follow", "--app", a.name, "--since", "0s")
	eventually(t, "first table", func() bool { return strings.Contains(watch.String(), first[:7]) })

	second, _ := a.push(t, a.files("two", nil), "Say two")
	eventually(t, "watch prints the new revision", func() bool {
		out := watch.String()
		return strings.Count(out, "APP ") >= 2 && strings.Contains(out, second[:7])
	})
	eventually(t, "follow prints the push's events", func() bool {
		out := follow.String()
		return strings.Contains(out, "desired  "+clusterName+"/watched "+second[:7]) &&
			strings.Contains(out, "status   "+clusterName+"/watched "+second[:7]+" succeeded, healthy")
	})
	if strings.Contains(follow.String(), first[:7]) {
		t.Errorf("events --follow --since 0s printed the earlier revision:\n%s", follow.String())
	}
	if c := stopWatch(); c != cli.ExitOK {
		t.Errorf("get --watch ended with exit %d", c)
	}
	if c := stopFollow(); c != cli.ExitOK {
		t.Errorf("events --follow ended with exit %d", c)
	}
}
