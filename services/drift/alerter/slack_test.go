package alerter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/config"
)

const traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"

func TestDriftEventSendsOneSlackMessage(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	startAlerter(t, js, webhookConfig(slack.hookURL("ops")))

	diff := "spec.replicas: 3 → 5\nspec.template.spec.containers[0].image: web:1.2 → web:1.3"
	publishDrift(t, js, traced(traceHex), driftEvent("prod", "guestbook", false, diff))
	waitFor(t, func() bool { return len(slack.all("ops")) == 1 })
	waitSettled(t, js, subject.StreamDrift)

	m := slack.all("ops")[0]
	all := m.Text + blockText(m.Blocks)
	for _, want := range []string{
		"guestbook", "prod",
		"https://github.com/org/apps/commit/" + testSHA, "|0123456", // commit linked, short sha shown
		"spec.replicas: 3 → 5", // diff snippet
		"Deployment.apps guestbook/web", "kubectl-edit",
		traceHex,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	if got := len(slack.all("")); got != 1 {
		t.Errorf("Slack got %d requests, want 1", got)
	}
}

func TestRepeatsUpdateTheFirstMessageThenResolveInItsThread(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	t.Setenv("FERRY_TEST_SLACK_TOKEN", slack.token)
	cfg := &config.Config{Routes: []config.Route{{Name: "ops", Slack: config.Slack{
		Channel: "C0FERRY", TokenEnv: "FERRY_TEST_SLACK_TOKEN", APIURL: slack.apiURL(),
	}}}}
	startAlerter(t, js, cfg)

	for i := range 10 {
		diff := "spec.replicas: 3 → 5"
		if i >= 5 {
			diff = "spec.replicas: 3 → 7" // details change once: at most one thread reply
		}
		publishDrift(t, js, traced(traceHex), driftEvent("prod", "guestbook", false, diff))
	}
	waitSettled(t, js, subject.StreamDrift)
	posts := slack.all("chat.postMessage")
	if len(posts) < 1 || posts[0].ThreadTS != "" {
		t.Fatalf("want one top-level incident message first, got %+v", posts)
	}
	root := posts[0].TS
	for _, p := range posts[1:] {
		if p.ThreadTS != root {
			t.Errorf("repeat posted outside the incident's thread: %+v", p)
		}
	}
	if len(posts) > 2 {
		t.Errorf("got %d posts for ten repeats, want the incident message and at most one reply", len(posts))
	}
	updates := slack.all("chat.update")
	if len(updates) == 0 || len(updates) > 9 {
		t.Errorf("got %d chat.update calls for nine repeats, want 1..9", len(updates))
	}
	for _, u := range updates {
		if u.TS != root || u.Channel != "C0FERRY" {
			t.Errorf("update of %s in %s, want %s in C0FERRY", u.TS, u.Channel, root)
		}
	}
	t.Logf("ten drifts: %d post(s), %d chat.update call(s)", len(posts), len(updates))
	if last := updates[len(updates)-1]; !strings.Contains(blockText(last.Blocks), "seen") {
		t.Errorf("update does not show the repeat count: %s", blockText(last.Blocks))
	}

	publishResult(t, js, &ferryv1.SyncResult{App: "guestbook", Cluster: "prod",
		Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY})
	waitFor(t, func() bool { return len(slack.all("chat.postMessage")) == len(posts)+1 })
	waitSettled(t, js, subject.StreamStatus)
	resolved := slack.all("chat.postMessage")[len(posts)]
	if resolved.ThreadTS != root || !strings.Contains(resolved.Text, "Resolved") {
		t.Errorf("resolved message %q in thread %q, want in %q", resolved.Text, resolved.ThreadTS, root)
	}
	last := slack.all("chat.update")
	if u := last[len(last)-1]; u.TS != root || !strings.Contains(u.Text, "Resolved") {
		t.Errorf("first message not marked resolved: %q", u.Text)
	}
	if n := len(slack.all("chat.postMessage")); n != len(posts)+1 {
		t.Errorf("got %d posts, want %d", n, len(posts)+1)
	}
}

func TestWebhookSuppressesRepeatsThenResolves(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	startAlerter(t, js, webhookConfig(slack.hookURL("ops")))

	for range 10 {
		publishDrift(t, js, traced(traceHex), driftEvent("prod", "guestbook", false, "spec.replicas: 3 → 5"))
	}
	waitSettled(t, js, subject.StreamDrift)
	if got := slack.all("ops"); len(got) != 1 {
		t.Fatalf("ten drifts in the quiet window sent %d messages, want 1", len(got))
	}
	publishDrift(t, js, context.Background(), driftEvent("prod", "guestbook", true, "spec.replicas: 5 → 3"))
	waitFor(t, func() bool { return len(slack.all("ops")) == 2 })
	waitSettled(t, js, subject.StreamDrift)
	msgs := slack.all("ops")
	if len(msgs) != 2 || !strings.Contains(msgs[1].Text, "Resolved") || !strings.Contains(msgs[1].Text, "corrected") {
		t.Fatalf("want the incident and one resolved message, got %d: %q", len(msgs), msgs[len(msgs)-1].Text)
	}
	if !strings.Contains(blockText(msgs[1].Blocks), "seen 10×") {
		t.Errorf("resolved message does not count the repeats: %s", blockText(msgs[1].Blocks))
	}
}

func TestSlackOutageDeliversOnceAfterRecovery(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	slack.setFailing(true)
	startAlerter(t, js, webhookConfig(slack.hookURL("ops")))

	publishDrift(t, js, traced(traceHex), driftEvent("prod", "guestbook", false, "spec.replicas: 3 → 5"))
	publishDrift(t, js, traced(traceHex), driftEvent("prod", "guestbook", false, "spec.replicas: 3 → 6"))
	waitFor(t, func() bool { return slack.failed() >= 4 }) // retried with backoff, still held by the consumer
	if got := len(slack.all("")); got != 0 {
		t.Fatalf("accepted %d messages while failing", got)
	}
	slack.setFailing(false)
	waitFor(t, func() bool { return len(slack.all("ops")) >= 1 })
	waitSettled(t, js, subject.StreamDrift)
	time.Sleep(500 * time.Millisecond) // longer than the max retry delay: a duplicate would show
	if got := slack.all("ops"); len(got) != 1 || !strings.Contains(got[0].Text, traceHex) {
		t.Fatalf("after recovery Slack got %d messages, want exactly 1 incident message", len(got))
	}
	t.Logf("delivered after %d failed attempts", slack.failed())
}

func TestRoutingByAppAndSeverity(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	cfg := &config.Config{
		MinSeverity: config.SeverityWarning,
		Routes: []config.Route{
			{Name: "team-a", Match: config.Match{Apps: []string{"app-a*"}}, Slack: config.Slack{WebhookURL: config.Secret(slack.hookURL("one"))}},
			{Name: "team-b", Match: config.Match{Apps: []string{"app-b"}, Clusters: []string{"prod-*"}},
				Slack: config.Slack{WebhookURL: config.Secret(slack.hookURL("two"))}},
		},
	}
	startAlerter(t, js, cfg)

	publishDrift(t, js, context.Background(), driftEvent("prod-eu", "app-a1", false, "x"))
	publishDrift(t, js, context.Background(), driftEvent("prod-eu", "app-b", false, "y"))
	publishDrift(t, js, context.Background(), driftEvent("staging", "app-b", false, "z")) // cluster not routed
	publishDrift(t, js, context.Background(), driftEvent("prod-eu", "app-a2", true, "w")) // info: below minimum
	publishResult(t, js, &ferryv1.SyncResult{App: "app-b", Cluster: "prod-us", Phase: ferryv1.Phase_PHASE_FAILED, Message: "apply: forbidden"})
	waitSettled(t, js, subject.StreamDrift)
	waitSettled(t, js, subject.StreamStatus)

	one, two := slack.all("one"), slack.all("two")
	if len(one) != 1 || !strings.Contains(one[0].Text, "app-a1") {
		t.Errorf("webhook one got %d messages, want the app-a1 drift", len(one))
	}
	if len(two) != 2 {
		t.Fatalf("webhook two got %d messages, want app-b drift on prod-eu and failure on prod-us", len(two))
	}
	if !strings.Contains(two[0].Text+two[1].Text, "Sync failed") || !strings.Contains(blockText(two[0].Blocks)+blockText(two[1].Blocks), "apply: forbidden") {
		t.Errorf("webhook two lacks the failure: %q / %q", two[0].Text, two[1].Text)
	}
	for _, m := range append(one, two...) {
		if strings.Contains(m.Text, "staging") || strings.Contains(m.Text, "app-a2") {
			t.Errorf("unrouted alert delivered: %q", m.Text)
		}
	}
}

func TestRestartKeepsOpenIncident(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	t.Setenv("FERRY_TEST_SLACK_TOKEN", slack.token)
	cfg := &config.Config{Routes: []config.Route{{Name: "ops", Slack: config.Slack{
		Channel: "C0FERRY", TokenEnv: "FERRY_TEST_SLACK_TOKEN", APIURL: slack.apiURL(),
	}}}}
	first := startAlerter(t, js, cfg)
	publishResult(t, js, &ferryv1.SyncResult{App: "guestbook", Cluster: "prod", Phase: ferryv1.Phase_PHASE_FAILED, Message: "timeout waiting for health"})
	waitFor(t, func() bool { return len(slack.all("chat.postMessage")) == 1 })
	waitSettled(t, js, subject.StreamStatus)
	root := slack.all("chat.postMessage")[0].TS
	first.shutdown(t)

	startAlerter(t, js, cfg)
	publishResult(t, js, &ferryv1.SyncResult{App: "guestbook", Cluster: "prod", Phase: ferryv1.Phase_PHASE_FAILED, Message: "timeout waiting for health"})
	publishResult(t, js, &ferryv1.SyncResult{App: "guestbook", Cluster: "prod", Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY})
	waitFor(t, func() bool { return len(slack.all("chat.postMessage")) == 2 })
	waitSettled(t, js, subject.StreamStatus)
	posts := slack.all("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("got %d posts, want the incident and its resolution", len(posts))
	}
	if posts[1].ThreadTS != root || !strings.Contains(posts[1].Text, "Resolved") {
		t.Errorf("after restart the resolution %q went to thread %q, want %q", posts[1].Text, posts[1].ThreadTS, root)
	}
	var updatedRoot bool
	for _, u := range slack.all("chat.update") {
		updatedRoot = updatedRoot || u.TS == root
	}
	if !updatedRoot {
		t.Error("the repeat after restart did not update the original message")
	}
}

// A fight with another writer is its own incident, at error severity,
// and only a successful sync of a new revision resolves it.
func TestFightingIsItsOwnIncident(t *testing.T) {
	js := startJS(t)
	slack := newFakeSlack(t)
	startAlerter(t, js, webhookConfig(slack.hookURL("ops")))

	ev := driftEvent("prod", "guestbook", false, "spec.replicas: 3 → 5")
	ev.Fighting = true
	publishDrift(t, js, traced(traceHex), ev)
	waitFor(t, func() bool { return len(slack.all("ops")) == 1 })
	m := slack.all("ops")[0]
	if all := m.Text + blockText(m.Blocks); !strings.Contains(all, "fighting another writer") || !strings.Contains(all, "self-heal stopped") {
		t.Fatalf("fighting alert does not say so:\n%s", all)
	}
	// A corrected drift does not end the fight: no resolved message.
	corrected := driftEvent("prod", "guestbook", true, "spec.replicas: 3 → 5")
	publishDrift(t, js, traced(traceHex), corrected)
	waitSettled(t, js, subject.StreamDrift)
	for _, m := range slack.all("ops") {
		if strings.Contains(m.Text+blockText(m.Blocks), "Resolved: Self-heal stopped") {
			t.Fatalf("corrected drift resolved the fight: %s", m.Text)
		}
	}
}
