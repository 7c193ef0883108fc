package alerter

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkDriftToSlack measures DriftEvent published → Slack request
// received, through JetStream, the incident KV and an incoming webhook on
// a local server. Events go one at a time (latency, not throughput), each
// for its own app so each opens an incident; at least 50 per run.
func BenchmarkDriftToSlack(b *testing.B) {
	js := startJS(b)
	slack := newFakeSlack(b)
	got := make(chan slackMsg, 1)
	slack.notify = got
	startAlerter(b, js, webhookConfig(slack.hookURL("ops")))
	n := max(b.N, 50)
	lat := make([]time.Duration, 0, n)
	ctx := traced(traceHex)
	b.ResetTimer()
	for i := range n {
		ev := driftEvent("prod", fmt.Sprintf("app-%d", i), false, "spec.replicas: 3 → 5")
		start := time.Now()
		publishDrift(b, js, ctx, ev)
		select {
		case m := <-got:
			lat = append(lat, m.At.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatalf("event %d: no Slack request within 10s", i)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
	b.ReportMetric(float64(len(lat)), "events")
}
