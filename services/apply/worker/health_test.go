package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// deployment is one Deployment of replicas pause Pods; nodeSelector may
// pin it to nodes that do not exist.
func deployment(name string, replicas int, nodeSelector string) []byte {
	sel := ""
	if nodeSelector != "" {
		sel = "\n      nodeSelector: {" + nodeSelector + "}"
	}
	return fmt.Appendf(nil, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  progressDeadlineSeconds: 600
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:%[3]s
      containers:
        - name: main
          image: registry.k8s.io/pause:3.10
`, name, replicas, sel)
}

// objectHealth returns the health and message of Kind/name in r.
func objectHealthIn(r *ferryv1.SyncResult, kindName string) (ferryv1.Health, string) {
	for _, o := range r.GetObjects() {
		if o.GetRef().GetKind()+"/"+o.GetRef().GetName() == kindName {
			return o.GetHealth(), o.GetMessage()
		}
	}
	return ferryv1.Health_HEALTH_UNKNOWN, "not in result"
}

func TestDeploymentBecomesHealthy(t *testing.T) {
	e := newEnv(t)
	e.startWorker(nil)
	e.publish("ready", "default", "h1", deployment("ready", 2, ""))
	r := e.result(90 * time.Second)
	wantPhase(t, r, "h1", ferryv1.Phase_PHASE_SUCCEEDED)
	if r.GetHealth() != ferryv1.Health_HEALTH_HEALTHY {
		t.Errorf("app health %s (%s), want HEALTHY", r.GetHealth(), r.GetMessage())
	}
	if h, msg := objectHealthIn(r, "Deployment/ready"); h != ferryv1.Health_HEALTH_HEALTHY {
		t.Errorf("Deployment/ready health %s (%s), want HEALTHY", h, msg)
	}
	// Before the health wait, the worker said the objects were applied.
	select {
	case early := <-e.interim:
		if early.GetRevision() != "h1" || early.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED ||
			early.GetHealth() != ferryv1.Health_HEALTH_PROGRESSING || early.GetFinishedUnixNano() > r.GetFinishedUnixNano() {
			t.Errorf("interim result %v, want h1 applied and progressing before the final one", early)
		}
	default:
		t.Error("no 'applied, awaiting health' result before the final one")
	}
	e.settled()
}

func TestUnschedulableDeploymentIsDegradedAfterTimeout(t *testing.T) {
	e := newEnv(t)
	const timeout = 5 * time.Second
	e.startWorkerWith(nil, Options{HealthTimeout: timeout})
	e.publish("stuck", "default", "s1", deployment("stuck", 1, "ferry.dev/no-such-node: \"true\""))
	r := e.result(90 * time.Second)
	wantPhase(t, r, "s1", ferryv1.Phase_PHASE_SUCCEEDED)
	if r.GetHealth() != ferryv1.Health_HEALTH_DEGRADED {
		t.Errorf("app health %s (%s), want DEGRADED", r.GetHealth(), r.GetMessage())
	}
	h, msg := objectHealthIn(r, "Deployment/stuck")
	if h != ferryv1.Health_HEALTH_DEGRADED || !strings.Contains(msg, "not ready after") {
		t.Errorf("Deployment/stuck health %s %q, want DEGRADED with the reason", h, msg)
	}
	if !strings.Contains(r.GetMessage(), "Deployment/stuck") {
		t.Errorf("result message %q does not name the failing object", r.GetMessage())
	}
	e.settled()
}
