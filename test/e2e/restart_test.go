package e2e

import (
	"context"
	"testing"

	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestWorkerRestartLosesNothing: a desired state published while the apply
// worker is down is applied when it comes back.
func TestWorkerRestartLosesNothing(t *testing.T) {
	ctx := context.Background()
	const app = "restart"
	repo := newRepo(t, "platform-restart")
	res := results(t, app)
	first := commitAndPush(t, repo, appFiles(repo.URL, app, 1), "add")
	if err := pipe.Webhook(ctx, pushhook.GitHub, repo, pushhook.ZeroSHA, first, "restart-1"); err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, res, first); r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
		t.Fatalf("first sync: %v %s", r.GetPhase(), r.GetMessage())
	}

	pipe.StopWorker()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			pipe.StartWorker()
		}
	})
	second := commitAndPush(t, repo, appFiles(repo.URL, app, 5), "scale while the worker is down")
	if err := pipe.Webhook(ctx, pushhook.GitHub, repo, first, second, "restart-2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "second desired state published", func() bool {
		return subjectCount(t, subject.StreamDesired, subject.Desired(pipe.Cluster, app)) == 2
	})
	if got := deploymentReplicas(t, app); got != 1 {
		t.Fatalf("replicas changed to %d with no worker running", got)
	}

	pipe.StartWorker()
	restarted = true
	if r := waitResult(t, res, second); r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
		t.Fatalf("sync after restart: %v %s", r.GetPhase(), r.GetMessage())
	}
	if got := deploymentReplicas(t, app); got != 5 {
		t.Fatalf("replicas = %d after restart, want 5", got)
	}
}
