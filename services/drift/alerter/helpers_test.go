package alerter

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/config"
)

const (
	testRepo = "https://github.com/org/apps.git"
	testSHA  = "0123456789abcdef0123456789abcdef01234567"
)

// startJS starts an embedded NATS with Ferry's streams.
func startJS(t testing.TB) jetstream.JetStream {
	t.Helper()
	_, _, js := natstest.JetStream(t)
	return js
}

// running is one alerter.Run in the background.
type running struct {
	stop func()
	done chan error
}

// startAlerter runs the service with cfg until the test ends (or stop).
func startAlerter(t testing.TB, js jetstream.JetStream, cfg *config.Config) *running {
	t.Helper()
	return startAlerterLog(t, js, cfg, logging.Discard())
}

// startAlerterLog is startAlerter logging to log.
func startAlerterLog(t testing.TB, js jetstream.JetStream, cfg *config.Config, log *slog.Logger) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(logging.Into(context.Background(), log))
	r := &running{stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, js, Options{Config: cfg}) }()
	waitFor(t, func() bool {
		_, err1 := js.Consumer(ctx, subject.StreamDrift, Durable)
		_, err2 := js.Consumer(ctx, subject.StreamStatus, Durable)
		return err1 == nil && err2 == nil
	})
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

func (r *running) shutdown(t testing.TB) {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("Run did not return after cancel")
	}
}

// traced returns a context carrying a sampled W3C span context with a
// fixed trace id, as the apply worker's would.
func traced(traceHex string) context.Context {
	tid, _ := trace.TraceIDFromHex(traceHex)
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func driftEvent(cluster, app string, corrected bool, diff string) *ferryv1.DriftEvent {
	return &ferryv1.DriftEvent{
		App: app, Cluster: cluster, Revision: testSHA, RepoUrl: testRepo, Corrected: corrected,
		DetectedUnixNano: time.Now().UnixNano(),
		Objects: []*ferryv1.DriftedObject{{
			Ref:  &ferryv1.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: app, Name: "web"},
			Diff: diff, ChangedBy: "kubectl-edit",
		}},
	}
}

func publishDrift(t testing.TB, js jetstream.JetStream, ctx context.Context, ev *ferryv1.DriftEvent) {
	t.Helper()
	if _, err := events.Publish(ctx, js, subject.Drift(ev.GetCluster(), ev.GetApp()), ev, ""); err != nil {
		t.Fatal(err)
	}
}

func publishResult(t testing.TB, js jetstream.JetStream, res *ferryv1.SyncResult) {
	t.Helper()
	if res.RepoUrl == "" {
		res.RepoUrl = testRepo
	}
	if res.Revision == "" {
		res.Revision = testSHA
	}
	if _, err := events.Publish(context.Background(), js, subject.Status(res.GetCluster(), res.GetApp()), res, ""); err != nil {
		t.Fatal(err)
	}
}

// webhookConfig routes everything to one incoming webhook.
func webhookConfig(url string) *config.Config {
	c := &config.Config{Routes: []config.Route{{Name: "all", Slack: config.Slack{WebhookURL: config.Secret(url)}}}}
	c.Retry = config.Retry{Initial: config.Duration(50 * time.Millisecond), Max: config.Duration(300 * time.Millisecond)}
	return c
}

// waitQuiet waits until the consumer on streamName has nothing pending or
// unacked, so no more Slack requests can come from what was published.
func waitSettled(t testing.TB, js jetstream.JetStream, streamName string) {
	t.Helper()
	waitFor(t, func() bool {
		c, err := js.Consumer(context.Background(), streamName, Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
}
