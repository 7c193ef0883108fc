package worker

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

func TestAPIServerOutageRetriesAndAppliesWhenItReturns(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	const app, ns = "outage", "outage"

	if err := cp.StopAPIServer(); err != nil {
		t.Fatalf("stop kube-apiserver: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = cp.StartAPIServer(t.Context())
		}
	})
	e.publish(app, ns, "o1", guestbook(ns, 1, 80))
	e.eventually("retried while the API server is down", 20*time.Second, func() error {
		if n := e.consumerInfo().NumRedelivered; n < 1 {
			return fmt.Errorf("redelivered %d", n)
		}
		return nil
	})
	e.noResult(100 * time.Millisecond)
	if err := cp.StartAPIServer(t.Context()); err != nil {
		t.Fatalf("restart kube-apiserver: %v", err)
	}
	restarted = true

	r := e.result(90 * time.Second)
	wantPhase(t, r, "o1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.settled()
	var deps appsv1.DeploymentList
	if err := e.kube.List(t.Context(), &deps, client.InNamespace(ns), client.MatchingLabels{LabelApp: app}); err != nil {
		t.Fatalf("list deployments: %v", err)
	}
	if len(deps.Items) != 1 {
		t.Errorf("%d deployments of the app, want exactly 1", len(deps.Items))
	}
	e.noResult(2 * time.Second) // no second result: the message was settled once
}
