package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// appFiles is a platform repository registering one app (a Namespace, a
// ConfigMap, a Deployment and a Service) in the e2e cluster.
func appFiles(repoURL, app string, replicas int) map[string]string {
	return map[string]string{
		"ferry.yaml": fmt.Sprintf(`apps:
  - name: %[1]s
    source: {repo: %[2]s, path: apps/%[1]s, ref: main}
    destinations:
      - {cluster: e2e, namespace: %[1]s}
    sync: {automated: true, prune: true}
`, app, repoURL),
		"apps/" + app + "/namespace.yaml": fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", app),
		"apps/" + app + "/config.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: hello\n",
		"apps/" + app + "/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
`, replicas),
		"apps/" + app + "/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
	}
}

func newRepo(t *testing.T, name string) *gitserver.Repo {
	t.Helper()
	repo, err := pipe.Git.NewRepo(context.Background(), name, filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func commitAndPush(t *testing.T, repo *gitserver.Repo, files map[string]string, msg string) string {
	t.Helper()
	sha, err := repo.CommitAndPush(context.Background(), files, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// results follows the sync results of one app from now on.
func results(t *testing.T, app string) <-chan *ferryv1.SyncResult {
	t.Helper()
	ctx := context.Background()
	cons, err := pipe.JS.OrderedConsumer(ctx, subject.StreamStatus, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject.Status(pipe.Cluster, app)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *ferryv1.SyncResult, 16)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var res ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, msg, &res); err == nil {
			ch <- &res
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return ch
}

// waitResult returns the first result for revision.
func waitResult(t *testing.T, ch <-chan *ferryv1.SyncResult, revision string) *ferryv1.SyncResult {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case res := <-ch:
			if res.GetRevision() == revision {
				return res
			}
		case <-timeout:
			t.Fatalf("no sync result for revision %s within 60s (pipeline error: %v)", revision, pipe.Err())
		}
	}
}

// subjectCount is how many messages stream holds on subj.
func subjectCount(t *testing.T, streamName, subj string) uint64 {
	t.Helper()
	s, err := pipe.JS.Stream(context.Background(), streamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

func deploymentReplicas(t *testing.T, ns string) int32 {
	t.Helper()
	d, err := kube.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment %s/web: %v", ns, err)
	}
	return *d.Spec.Replicas
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within 60s (pipeline error: %v)", what, pipe.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
