package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/test/harness"
)

// samples is a set of durations with percentiles.
type samples []time.Duration

func (s samples) pct(p float64) time.Duration {
	c := slices.Clone(s)
	slices.Sort(c)
	i := int(float64(len(c)-1) * p)
	return c[i]
}

func (s samples) row(name, notes string) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s |", name, len(s), ms(s.pct(0.5)), ms(s.pct(0.9)), ms(s.pct(0.99)), ms(s.pct(1)), notes)
}

// webhookToApplied pushes n commits to an app of size objects, each
// changing every ConfigMap, and times webhook POST → SUCCEEDED SyncResult.
func webhookToApplied(ctx context.Context, pipe *harness.Pipeline, n, objects int) (samples, error) {
	const app = "bench"
	repo, err := pipe.Git.NewRepo(ctx, "bench", filepath.Join(pipe.Dir, "bench-work"))
	if err != nil {
		return nil, err
	}
	results := make(chan *ferryv1.SyncResult, 64)
	cons, err := pipe.JS.OrderedConsumer(ctx, subject.StreamStatus, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject.Status(pipe.Cluster, app)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, msg, &r); err == nil {
			results <- &r
		}
	})
	if err != nil {
		return nil, err
	}
	defer cc.Stop()

	var out samples
	before := pushhook.ZeroSHA
	for i := -3; i < n; i++ { // three warm-up pushes
		sha, err := repo.CommitAndPush(ctx, appFiles(repo.URL, app, objects, i), fmt.Sprintf("push %d", i))
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if err := pipe.Webhook(ctx, pushhook.GitHub, repo, before, sha, fmt.Sprintf("bench-%d", i)); err != nil {
			return nil, err
		}
		if err := waitFor(ctx, results, sha); err != nil {
			return nil, err
		}
		if i >= 0 {
			out = append(out, time.Since(start))
		}
		before = sha
	}
	return out, nil
}

func waitFor(ctx context.Context, results <-chan *ferryv1.SyncResult, sha string) error {
	timeout := time.After(60 * time.Second)
	for {
		select {
		case r := <-results:
			if r.GetRevision() != sha {
				continue
			}
			if r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
				return fmt.Errorf("sync of %s: %v: %s", sha, r.GetPhase(), r.GetMessage())
			}
			return nil
		case <-timeout:
			return fmt.Errorf("no sync result for %s within 60s", sha)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// appFiles is a platform repo with one app of n objects: 60% ConfigMaps,
// 20% Services, 20% Deployments; every ConfigMap carries the push number.
func appFiles(repoURL, app string, n, push int) map[string]string {
	files := map[string]string{"ferry.yaml": fmt.Sprintf(`apps:
  - name: %[1]s
    source: {repo: %[2]s, path: app, ref: main}
    destinations: [{cluster: bench, namespace: %[1]s}]
    sync: {automated: true, prune: true}
`, app, repoURL)}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", app)
	for i := 0; i < n-1; i++ {
		b.WriteString("---\n")
		switch {
		case i%5 < 3:
			fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  push: \"%d\"\n", i, push)
		case i%5 == 3:
			fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%d\nspec:\n  selector: {app: d-%d}\n  ports: [{port: 80}]\n", i, i)
		default:
			fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d-%d\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: d-%d}}\n  template:\n    metadata: {labels: {app: d-%d}}\n    spec:\n      containers: [{name: c, image: registry.example/app:1}]\n", i, i, i)
		}
	}
	files["app/objects.yaml"] = b.String()
	return files
}
