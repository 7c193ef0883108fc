package worker

import (
	"strings"
	"testing"
	"time"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestManifestErrorsAreTerminalAtOnce publishes revisions the API server
// can never accept and checks each is FAILED on its first delivery with
// the object and the API server's reason, terminated without a retry, and
// that the app's next, good revision applies.
func TestManifestErrorsAreTerminalAtOnce(t *testing.T) {
	cases := []struct {
		name     string
		bad      string
		want     []string // parts of the FAILED result's message
		good     string
		wantGood string // "Kind/name" of the object the good revision creates
	}{
		{
			name: "job with generateName only",
			bad: `apiVersion: batch/v1
kind: Job
metadata: {generateName: migrate-}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}`,
			want: []string{"Job/", "resource name may not be empty", `generateName "migrate-"`},
			good: `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}`,
			wantGood: "Job/migrate",
		},
		{
			name:     "deployment with replicas three",
			bad:      deploymentWithReplicas("web", "", `"three"`),
			want:     []string{"Deployment/", "/web", ".spec.replicas: expected numeric (int or float), got string"},
			good:     deploymentWithReplicas("web", "", "1"),
			wantGood: "Deployment/web",
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.startWorkerWith(nil, Options{HealthTimeout: -1})
			ns := []string{"terminal-job", "terminal-deploy"}[i]
			namespace := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n---\n"
			bad, good := namespace+c.bad, namespace+c.good

			e.publish(ns, ns, "bad", []byte(bad))
			r := e.result(30 * time.Second)
			wantPhase(t, r, "bad", ferryv1.Phase_PHASE_FAILED)
			for _, w := range c.want {
				if !strings.Contains(r.GetMessage(), w) {
					t.Errorf("result message %q does not contain %q", r.GetMessage(), w)
				}
			}
			if strings.Contains(r.GetMessage(), "still retrying") {
				t.Errorf("result message %q reports retries", r.GetMessage())
			}
			e.settled()
			// Terminated on the first delivery: no second one, even after
			// the first retry delay has passed.
			e.noResult(2 * retryInitial)
			info := e.consumerInfo()
			if info.Delivered.Consumer != 1 || info.NumRedelivered != 0 || info.NumAckPending != 0 {
				t.Errorf("consumer delivered %d, redelivered %d, ack pending %d; want 1, 0, 0",
					info.Delivered.Consumer, info.NumRedelivered, info.NumAckPending)
			}

			e.publish(ns, ns, "good", []byte(good))
			r = e.result(30 * time.Second)
			wantPhase(t, r, "good", ferryv1.Phase_PHASE_SUCCEEDED)
			if a := actions(r)[c.wantGood]; a != ferryv1.Action_ACTION_CREATED {
				t.Errorf("%s: action %s, want created (all: %v)", c.wantGood, a, actions(r))
			}
			e.settled()
			if info := e.consumerInfo(); info.Delivered.Consumer != 2 || info.NumRedelivered != 0 {
				t.Errorf("consumer delivered %d, redelivered %d; want 2, 0", info.Delivered.Consumer, info.NumRedelivered)
			}
		})
	}
}
