package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// sse reads one event stream line by line.
type sse struct {
	t    *testing.T
	body io.ReadCloser
	r    *bufio.Reader
}

func (e *env) openEvents(path string) *sse {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		e.t.Fatalf("GET %s = %d %v", path, resp.StatusCode, resp.Header)
	}
	s := &sse{t: e.t, body: resp.Body, r: bufio.NewReader(resp.Body)}
	e.t.Cleanup(func() { _ = resp.Body.Close() })
	return s
}

// block reads up to the next blank line and returns the lines before it.
func (s *sse) block() ([]string, error) {
	var lines []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimSuffix(l, "\n")
		if l == "" {
			return lines, nil
		}
		lines = append(lines, l)
	}
}

// nextChange skips heartbeats and returns the next change event's data.
func (s *sse) nextChange() change {
	s.t.Helper()
	for {
		lines, err := s.block()
		if err != nil {
			s.t.Fatalf("event stream ended: %v (read %q)", err, lines)
		}
		if len(lines) == 2 && lines[0] == "event: change" && strings.HasPrefix(lines[1], "data: ") {
			var c change
			if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[1], "data: ")), &c); err != nil {
				s.t.Fatalf("event data %q: %v", lines[1], err)
			}
			return c
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, ":") && !strings.HasPrefix(l, "retry: ") {
				s.t.Fatalf("unexpected event block %q", lines)
			}
		}
	}
}

// TestEventStream: the stream opens with a retry hint, sends heartbeat
// comments while idle, one change event per stored event that passes
// its filter, and ends cleanly when the server shuts down.
func TestEventStream(t *testing.T) {
	opts := DefaultOptions()
	opts.Heartbeat = 50 * time.Millisecond
	e := start(t, opts)
	all := e.openEvents("/events")
	web := e.openEvents("/events?app=web&cluster=prod")
	other := e.openEvents("/events?app=other")

	first, err := all.block()
	if err != nil || len(first) != 2 || first[0] != "retry: 2000" || first[1] != ": connected" {
		t.Fatalf("stream opens with %q (%v), want the retry hint and a comment", first, err)
	}
	beat, err := all.block()
	if err != nil || len(beat) != 1 || !strings.HasPrefix(beat[0], ": heartbeat ") {
		t.Fatalf("idle stream sent %q (%v), want a heartbeat comment", beat, err)
	}

	// The hub follows the streams from when the server started; events
	// published from here on reach the browsers.
	waitSubscribers(t, e, 3)
	e.publish(subject.Status("prod", "web"), &ferryv1.SyncResult{App: "web", Cluster: "prod", Revision: rev2, Phase: ferryv1.Phase_PHASE_SUCCEEDED})
	// On the same stream, after web's: the other app's stream gets only this one.
	e.publish(subject.Status("prod", "other"), &ferryv1.SyncResult{App: "other", Cluster: "prod", Revision: rev1, Phase: ferryv1.Phase_PHASE_FAILED})
	e.publish(subject.Desired("prod", "web"), &ferryv1.DesiredState{App: "web", Cluster: "prod", Revision: rev1})

	// Across streams the order is not fixed.
	got := map[change]bool{all.nextChange(): true, all.nextChange(): true, all.nextChange(): true}
	for _, want := range []change{{Kind: "status", App: "web", Cluster: "prod", Revision: rev2},
		{Kind: "status", App: "other", Cluster: "prod", Revision: rev1}, {Kind: "desired", App: "web", Cluster: "prod", Revision: rev1}} {
		if !got[want] {
			t.Errorf("/events sent %v, want %+v among them", got, want)
		}
	}
	// The web stream gets web's status and desired events, in either order
	// (they come from two streams), and never the other app's.
	webGot := map[change]bool{web.nextChange(): true, web.nextChange(): true}
	for _, want := range []change{{Kind: "status", App: "web", Cluster: "prod", Revision: rev2},
		{Kind: "desired", App: "web", Cluster: "prod", Revision: rev1}} {
		if !webGot[want] {
			t.Errorf("/events?app=web&cluster=prod sent %v, want %+v among them", webGot, want)
		}
	}
	// The other app's stream skipped web's event: its first change is its own.
	if c := other.nextChange(); c.App != "other" {
		t.Errorf("first change on the other stream = %+v, want only app other", c)
	}

	if code, _ := e.get(e.client(), "/events?app=Not_A_Name"); code != http.StatusBadRequest {
		t.Errorf("bad filter = %d, want 400", code)
	}

	// Shutting down ends every stream instead of waiting for browsers.
	if err := e.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, s := range []*sse{all, web, other} {
		for {
			_, err := s.block()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("stream ended with %v, want EOF", err)
				}
				break
			}
		}
	}
}

// waitSubscribers waits until n event streams are registered.
func waitSubscribers(t *testing.T, e *env, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if e.subscribers() >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d event streams open, want %d", e.subscribers(), n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
