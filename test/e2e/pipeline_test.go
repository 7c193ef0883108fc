package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestPushDeploysPerProvider: a signed push webhook in each host's format
// deploys a new app; a second commit changes the Deployment's replicas; a
// redelivered webhook is stored once and yields no second DesiredState.
func TestPushDeploysPerProvider(t *testing.T) {
	for _, provider := range []string{pushhook.GitHub, pushhook.Gitea, pushhook.GitLab} {
		t.Run(provider, func(t *testing.T) {
			ctx := context.Background()
			app := "web-" + provider
			repo := newRepo(t, "platform-"+provider)
			res := results(t, app)

			first := commitAndPush(t, repo, appFiles(repo.URL, app, 1), "add "+app)
			if err := pipe.Webhook(ctx, provider, repo, pushhook.ZeroSHA, first, provider+"-delivery-1"); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, res, first)
			if r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
				t.Fatalf("first sync: %v: %s", r.GetPhase(), r.GetMessage())
			}
			if len(r.GetObjects()) != 4 {
				t.Fatalf("first sync reported %d objects, want 4: %v", len(r.GetObjects()), r.GetObjects())
			}
			for _, o := range r.GetObjects() {
				if o.GetAction() != ferryv1.Action_ACTION_CREATED {
					t.Errorf("%s/%s: action %v, want created", o.GetRef().GetKind(), o.GetRef().GetName(), o.GetAction())
				}
			}
			if _, err := kube.CoreV1().ConfigMaps(app).Get(ctx, "web", metav1.GetOptions{}); err != nil {
				t.Fatalf("configmap not applied: %v", err)
			}
			if got := deploymentReplicas(t, app); got != 1 {
				t.Fatalf("replicas = %d, want 1", got)
			}

			second := commitAndPush(t, repo, appFiles(repo.URL, app, 3), "scale "+app)
			for range 2 { // the host redelivers the same delivery id
				if err := pipe.Webhook(ctx, provider, repo, first, second, provider+"-delivery-2"); err != nil {
					t.Fatal(err)
				}
			}
			r = waitResult(t, res, second)
			if r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
				t.Fatalf("second sync: %v: %s", r.GetPhase(), r.GetMessage())
			}
			if got := deploymentReplicas(t, app); got != 3 {
				t.Fatalf("replicas = %d after second commit, want 3", got)
			}
			// Ingest answered 2xx to both deliveries only after JetStream
			// stored (or deduplicated) them, so the counts are final.
			pushes := subjectCount(t, subject.StreamGit, subject.GitPush(subject.RepoKey(repo.URL)))
			if pushes != 2 {
				t.Errorf("FERRY_GIT holds %d pushes for the repo, want 2 (redelivery stored once)", pushes)
			}
			if n := subjectCount(t, subject.StreamDesired, subject.Desired(pipe.Cluster, app)); n != 2 {
				t.Errorf("FERRY_DESIRED holds %d desired states for %s, want 2", n, app)
			}
		})
	}
}
