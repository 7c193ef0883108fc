package alerter

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
)

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogsNeverCarryWebhookURLOrDiff(t *testing.T) {
	// A port nothing listens on: every post fails with a network error,
	// whose text would quote the URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	const secretPath = "T000/B000/XXXXsecretXXXX"
	var logs lockedBuffer
	js := startJS(t)
	startAlerterLog(t, js, webhookConfig("http://"+addr+"/services/"+secretPath),
		slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	publishDrift(t, js, traced(traceHex), driftEvent("prod", "guestbook", false, "data.password: hunter2-REDACTED"))
	waitFor(t, func() bool { return strings.Contains(logs.String(), "will retry") })
	out := logs.String()
	for _, secret := range []string{secretPath, "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "<webhook-url>") {
		t.Errorf("network error not logged in scrubbed form:\n%s", out)
	}
	c, err := js.Consumer(t.Context(), subject.StreamDrift, Durable)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := c.Info(t.Context()); err != nil || info.AckFloor.Stream != 0 {
		t.Errorf("undelivered alert was acked: %+v %v", info.AckFloor, err)
	}
}
