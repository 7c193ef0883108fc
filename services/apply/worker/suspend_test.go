package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// publishSelfHealing publishes the state app at rev with self-heal on.
func (e *env) publishSelfHealing(app, ns, rev string) {
	e.t.Helper()
	e.publishState(&ferryv1.DesiredState{
		App: app, Namespace: ns, Revision: rev,
		Sync: &ferryv1.SyncPolicy{Automated: true, SelfHeal: true},
	}, stateApp(ns, rev))
}

// driftEvents subscribes to app's drift events.
func (e *env) driftEvents(app string) <-chan *ferryv1.DriftEvent {
	e.t.Helper()
	ch := make(chan *ferryv1.DriftEvent, 16)
	sub, err := e.nc.Subscribe(subject.Drift(testCluster, app), func(m *nats.Msg) {
		var ev ferryv1.DriftEvent
		if _, err := events.Decode(context.Background(), m.Header, m.Data, &ev); err != nil {
			e.t.Errorf("decode drift event: %v", err)
			return
		}
		ch <- &ev
	})
	if err != nil {
		e.t.Fatalf("subscribe drift: %v", err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ch
}

// hotfix edits the state ConfigMap of ns out of band, as kubectl edit would.
func (e *env) hotfix(ns, value string) {
	e.t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "state"}}
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"data":{"revision":%q}}`, value))
	if err := e.kube.Patch(e.t.Context(), cm, patch, client.FieldOwner("kubectl-edit")); err != nil {
		e.t.Fatalf("hotfix: %v", err)
	}
}

// nextDrift waits for the next drift event and checks it is about the
// state ConfigMap at revision, with the corrected and suspended marks.
func (e *env) nextDrift(ch <-chan *ferryv1.DriftEvent, revision string, corrected, suspended bool) {
	e.t.Helper()
	select {
	case ev := <-ch:
		if ev.GetRevision() != revision || ev.GetCorrected() != corrected || ev.GetSuspended() != suspended || ev.GetFighting() {
			e.t.Fatalf("drift event revision %q corrected=%v suspended=%v fighting=%v, want %q corrected=%v suspended=%v",
				ev.GetRevision(), ev.GetCorrected(), ev.GetSuspended(), ev.GetFighting(), revision, corrected, suspended)
		}
		if objs := ev.GetObjects(); len(objs) != 1 || objs[0].GetRef().GetKind() != "ConfigMap" || objs[0].GetRef().GetName() != "state" {
			e.t.Fatalf("drifted objects %v, want the state ConfigMap", objs)
		}
	case <-time.After(30 * time.Second):
		e.t.Fatalf("no drift event within 30s")
	}
}

// wantLive fails unless the state ConfigMap of ns holds value now.
func (e *env) wantLive(ns, value, when string) {
	e.t.Helper()
	if got := e.live(ns); got != value {
		e.t.Fatalf("live %q %s, want %q", got, when, value)
	}
}

// eventuallyLive waits until the state ConfigMap of ns holds value.
func (e *env) eventuallyLive(ns, value string) {
	e.t.Helper()
	e.eventually("live "+value, 20*time.Second, func() error {
		if got := e.live(ns); got != value {
			return fmt.Errorf("live %q", got)
		}
		return nil
	})
}

// Suspending holds self-heal too: a hotfix made while suspended is
// reported as drift, marked suspended and not corrected, and stays until
// resume re-applies the desired state.
func TestSuspendHoldsSelfHealUntilResume(t *testing.T) {
	e := newEnv(t)
	e.startCommandWorker(Options{})
	const app, ns = "hotfixed", "hotfixed"
	drift := e.driftEvents(app)

	e.publishSelfHealing(app, ns, "h1")
	wantPhase(t, e.result(30*time.Second), "h1", ferryv1.Phase_PHASE_SUCCEEDED)

	// Not suspended: self-heal reverts the edit.
	e.hotfix(ns, "edit-0")
	e.nextDrift(drift, "h1", true, false)
	e.eventuallyLive(ns, "h1")

	if r := e.reply(e.command(app, ferryv1.Verb_VERB_SUSPEND, "", "frank")); r.GetPhase() != ferryv1.Phase_PHASE_UNSPECIFIED {
		t.Fatalf("suspend reply: %s %q", r.GetPhase(), r.GetMessage())
	}
	e.result(5 * time.Second) // the same result on the status stream

	// Suspended: each edit is reported, not corrected. The event is
	// published after the heal decision, so a heal would have happened by
	// then; the second edit is checked by the same (serialized) object
	// check, so the first one's check is done and healed nothing.
	for _, fix := range []string{"hotfix-1", "hotfix-2"} {
		e.hotfix(ns, fix)
		e.nextDrift(drift, "h1", false, true)
		e.wantLive(ns, fix, "after the drift event while suspended")
	}

	// Resume re-applies the desired state over the hotfix.
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_RESUME, "", "grace")), "h1", ferryv1.Phase_PHASE_SUCCEEDED, "grace")
	e.wantLive(ns, "h1", "after resume")

	// And self-heal is back.
	e.hotfix(ns, "edit-3")
	e.nextDrift(drift, "h1", true, false)
	e.eventuallyLive(ns, "h1")
}

// A pin is the state the operator chose: self-heal restores the pinned
// revision; suspended while pinned, it holds, and resume re-applies the
// pinned revision rather than the newest.
func TestPinnedAppSelfHealsToPinAndResumeReappliesIt(t *testing.T) {
	e := newEnv(t)
	e.startCommandWorker(Options{})
	const app, ns = "pinheal", "pinheal"
	drift := e.driftEvents(app)

	e.publishSelfHealing(app, ns, "q1")
	wantPhase(t, e.result(30*time.Second), "q1", ferryv1.Phase_PHASE_SUCCEEDED)
	e.publishSelfHealing(app, ns, "q2")
	wantPhase(t, e.result(30*time.Second), "q2", ferryv1.Phase_PHASE_SUCCEEDED)
	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_ROLLBACK, "q1", "ivan")), "q1", ferryv1.Phase_PHASE_SUCCEEDED, "ivan")

	e.hotfix(ns, "edit-0")
	e.nextDrift(drift, "q1", true, false)
	e.eventuallyLive(ns, "q1")

	if r := e.reply(e.command(app, ferryv1.Verb_VERB_SUSPEND, "", "judy")); r.GetPhase() != ferryv1.Phase_PHASE_UNSPECIFIED {
		t.Fatalf("suspend reply: %s %q", r.GetPhase(), r.GetMessage())
	}
	e.hotfix(ns, "hotfix-1")
	e.nextDrift(drift, "q1", false, true)
	e.wantLive(ns, "hotfix-1", "after the drift event while suspended")

	wantReply(t, e.reply(e.command(app, ferryv1.Verb_VERB_RESUME, "", "karl")), "q1", ferryv1.Phase_PHASE_SUCCEEDED, "karl")
	e.wantLive(ns, "q1", "after resume while pinned")
	if ac := e.controls().Apps[app]; ac.Pinned == nil || ac.Suspended != nil {
		t.Errorf("controls after resume = %+v, want pinned, not suspended", ac)
	}
}
