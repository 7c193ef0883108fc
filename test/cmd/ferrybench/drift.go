package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/test/harness"
)

// slackSink is a local stand-in for Slack's incoming webhook that records
// when the first message naming each app arrived.
type slackSink struct {
	*httptest.Server
	mu    sync.Mutex
	first map[string]time.Time
	apps  []string
}

func newSlackSink() *slackSink {
	s := &slackSink{first: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		for _, app := range s.apps {
			if _, seen := s.first[app]; !seen && strings.Contains(string(body), app) {
				s.first[app] = now
			}
		}
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	return s
}

func (s *slackSink) expect(app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps = append(s.apps, app)
}

func (s *slackSink) arrived(app string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.first[app]
	return t, ok
}

// driftLatency deploys n apps (one ConfigMap each, self-heal off) in one
// commit, then edits each app's ConfigMap out of band, one after another,
// timing edit → DriftEvent on JetStream and edit → Slack request.
func driftLatency(ctx context.Context, pipe *harness.Pipeline, kube kubernetes.Interface, sink *slackSink, n int) (toEvent, toSlack samples, err error) {
	repo, err := pipe.Git.NewRepo(ctx, "drift", filepath.Join(pipe.Dir, "drift-work"))
	if err != nil {
		return nil, nil, err
	}
	var reg strings.Builder
	reg.WriteString("apps:\n")
	files := map[string]string{}
	for i := range n {
		app := fmt.Sprintf("drift-%02d", i)
		fmt.Fprintf(&reg, "  - {name: %s, source: {repo: %s, path: %s}, destinations: [{cluster: %s, namespace: %s}], sync: {automated: true}}\n",
			app, repo.URL, app, pipe.Cluster, app)
		files[app+"/all.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %[1]s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: blue}\n", app)
	}
	files["ferry.yaml"] = reg.String()

	drifts := make(chan *ferryv1.DriftEvent, n)
	applied := make(chan *ferryv1.SyncResult, 2*n)
	stop, err := consumeAll(ctx, pipe, subject.StreamDrift, subject.AllDrift, func(m jetstream.Msg) {
		var ev ferryv1.DriftEvent
		if _, err := events.DecodeMsg(ctx, m, &ev); err == nil {
			drifts <- &ev
		}
	})
	if err != nil {
		return nil, nil, err
	}
	defer stop()
	stopResults, err := consumeAll(ctx, pipe, subject.StreamStatus, subject.StatusForCluster(pipe.Cluster), func(m jetstream.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, m, &r); err == nil && strings.HasPrefix(r.GetApp(), "drift-") {
			applied <- &r
		}
	})
	if err != nil {
		return nil, nil, err
	}
	defer stopResults()

	sha, err := repo.CommitAndPush(ctx, files, "add drift apps")
	if err != nil {
		return nil, nil, err
	}
	if err := pipe.Webhook(ctx, pushhook.GitHub, repo, pushhook.ZeroSHA, sha, "drift-apps"); err != nil {
		return nil, nil, err
	}
	for seen := map[string]bool{}; len(seen) < n; {
		select {
		case r := <-applied:
			if r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
				return nil, nil, fmt.Errorf("deploy %s: %s", r.GetApp(), r.GetMessage())
			}
			seen[r.GetApp()] = true
		case <-time.After(2 * time.Minute):
			return nil, nil, fmt.Errorf("drift apps not applied within 2m")
		}
	}
	time.Sleep(2 * time.Second) // health waits end, watches are established

	for i := range n {
		app := fmt.Sprintf("drift-%02d", i)
		sink.expect(app)
		start := time.Now()
		if _, err := kube.CoreV1().ConfigMaps(app).Patch(ctx, "settings", types.MergePatchType,
			[]byte(`{"data":{"color":"red"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			return nil, nil, err
		}
		select {
		case ev := <-drifts:
			if ev.GetApp() != app {
				return nil, nil, fmt.Errorf("drift event for %s while editing %s", ev.GetApp(), app)
			}
			toEvent = append(toEvent, time.Since(start))
		case <-time.After(30 * time.Second):
			return nil, nil, fmt.Errorf("no drift event for %s within 30s", app)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if at, ok := sink.arrived(app); ok {
				toSlack = append(toSlack, at.Sub(start))
				break
			}
			if time.Now().After(deadline) {
				return nil, nil, fmt.Errorf("no Slack request for %s within 30s", app)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return toEvent, toSlack, nil
}

func consumeAll(ctx context.Context, pipe *harness.Pipeline, streamName, filter string, h jetstream.MessageHandler) (func(), error) {
	cons, err := pipe.JS.OrderedConsumer(ctx, streamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(h)
	if err != nil {
		return nil, err
	}
	return cc.Stop, nil
}
