package worker

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// heartbeatOf reads cluster's heartbeat from the cluster registry.
func (e *env) heartbeatOf(clusterName string) (cluster.Heartbeat, error) {
	var hb cluster.Heartbeat
	kv, err := e.js.KeyValue(e.t.Context(), subject.BucketClusters)
	if err != nil {
		return hb, err
	}
	entry, err := kv.Get(e.t.Context(), clusterName)
	if err != nil {
		return hb, err
	}
	return hb, cluster.Decode(entry.Value(), &hb)
}

func TestHeartbeatReportsLivenessAppliedRevisionAndControls(t *testing.T) {
	e := newEnv(t)
	const interval = 200 * time.Millisecond
	stop := e.startCommandWorker(Options{HeartbeatInterval: interval, Version: "v-test"})
	const app, ns = "beat", "beat"

	e.publishRendered(app, ns, "h1", time.Now())
	wantPhase(t, e.result(30*time.Second), "h1", ferryv1.Phase_PHASE_SUCCEEDED)
	var first cluster.Heartbeat
	e.eventually("heartbeat with h1", 5*time.Second, func() error {
		hb, err := e.heartbeatOf(testCluster)
		if err != nil {
			return err
		}
		if a := hb.Apps[app]; a.Revision != "h1" || a.Digest == "" || a.AppliedAt.IsZero() {
			return fmt.Errorf("app status %+v", a)
		}
		if hb.Cluster != testCluster || hb.Version != "v-test" || hb.Pending != 0 || hb.Stopped ||
			time.Duration(hb.Interval) != interval || !hb.Alive(time.Now(), 3) {
			return fmt.Errorf("heartbeat %+v", hb)
		}
		first = hb
		return nil
	})
	e.eventually("heartbeat updated", 5*time.Second, func() error {
		hb, err := e.heartbeatOf(testCluster)
		if err != nil {
			return err
		}
		if !hb.SeenAt.After(first.SeenAt) {
			return fmt.Errorf("seen at %s, first %s", hb.SeenAt, first.SeenAt)
		}
		return nil
	})

	e.reply(e.command(app, ferryv1.Verb_VERB_SUSPEND, "", "ivan"))
	e.eventually("heartbeat shows suspension", 5*time.Second, func() error {
		hb, err := e.heartbeatOf(testCluster)
		if err != nil {
			return err
		}
		if !hb.Apps[app].Suspended {
			return fmt.Errorf("app status %+v", hb.Apps[app])
		}
		return nil
	})

	stop()
	hb, err := e.heartbeatOf(testCluster)
	if err != nil {
		t.Fatal(err)
	}
	if !hb.Stopped || hb.Alive(time.Now(), 3) {
		t.Errorf("heartbeat after shutdown = %+v, want stopped", hb)
	}
	// A restarted worker still reports what its predecessor applied.
	e.startCommandWorker(Options{HeartbeatInterval: interval})
	e.eventually("restarted heartbeat", 5*time.Second, func() error {
		hb, err := e.heartbeatOf(testCluster)
		if err != nil {
			return err
		}
		if hb.Stopped || hb.Apps[app].Revision != "h1" || !hb.Apps[app].Suspended {
			return fmt.Errorf("heartbeat %+v", hb)
		}
		return nil
	})
}

func TestHeartbeatCountsPendingDesiredStates(t *testing.T) {
	e := newEnv(t)
	const offline = "offline"
	cfg := &rest.Config{Host: "https://127.0.0.1:1", Timeout: time.Second}
	e.startWorkerWith(cfg, Options{Cluster: offline, HeartbeatInterval: 200 * time.Millisecond})
	for _, app := range []string{"one", "two"} {
		e.publishState(&ferryv1.DesiredState{App: app, Cluster: offline, Namespace: app, Revision: "x1"}, stateApp(app, "x1"))
	}
	e.eventually("pending in heartbeat", 10*time.Second, func() error {
		hb, err := e.heartbeatOf(offline)
		if err != nil {
			return err
		}
		if hb.Pending != 2 {
			return fmt.Errorf("pending %d, want 2", hb.Pending)
		}
		return nil
	})
}
