package dev

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// followStatus prints one line per sync result and drift event until the
// returned function is called.
func followStatus(ctx context.Context, js jetstream.JetStream, out io.Writer) (func(), error) {
	stopResults, err := follow(ctx, js, subject.StreamStatus, subject.AllStatus, func(msg jetstream.Msg) {
		var res ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, msg, &res); err == nil {
			fmt.Fprintln(out, statusLine(&res))
		}
	})
	if err != nil {
		return nil, err
	}
	stopDrift, err := follow(ctx, js, subject.StreamDrift, subject.AllDrift, func(msg jetstream.Msg) {
		var ev ferryv1.DriftEvent
		if _, err := events.DecodeMsg(ctx, msg, &ev); err == nil {
			fmt.Fprintln(out, driftLine(&ev))
		}
	})
	if err != nil {
		stopResults()
		return nil, err
	}
	return func() { stopDrift(); stopResults() }, nil
}

// follow consumes new messages of streamName on filter with handle.
func follow(ctx context.Context, js jetstream.JetStream, streamName, filter string, handle jetstream.MessageHandler) (func(), error) {
	cons, err := js.OrderedConsumer(ctx, streamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", streamName, err)
	}
	cc, err := cons.Consume(handle)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", streamName, err)
	}
	return cc.Stop, nil
}

// driftLine reports one drift event: what changed, who changed it, and
// whether self-heal put it back.
func driftLine(ev *ferryv1.DriftEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "⚠ drift in %s → %s:", ev.GetApp(), ev.GetCluster())
	for _, o := range ev.GetObjects() {
		fmt.Fprintf(&b, " %s/%s", o.GetRef().GetKind(), o.GetRef().GetName())
		if o.GetDeleted() {
			b.WriteString(" deleted")
		} else if d := strings.SplitN(o.GetDiff(), "\n", 2)[0]; d != "" {
			b.WriteString(" " + d)
		}
		if o.GetChangedBy() != "" {
			b.WriteString(" (by " + o.GetChangedBy() + ")")
		}
	}
	switch {
	case ev.GetFighting():
		b.WriteString(" — self-heal stopped: another writer keeps reverting it")
	case ev.GetCorrected():
		b.WriteString(" — reverted by self-heal")
	case ev.GetSuspended():
		b.WriteString(" — held: the app is suspended (ferry resume reverts it)")
	default:
		b.WriteString(" — left as is (selfHeal is off)")
	}
	return b.String()
}

func statusLine(res *ferryv1.SyncResult) string {
	rev := res.GetRevision()
	if len(rev) > 8 {
		rev = rev[:8]
	}
	head := fmt.Sprintf("%s → %s @ %s", res.GetApp(), res.GetCluster(), rev)
	if rev == "" {
		head = fmt.Sprintf("%s → %s", res.GetApp(), res.GetCluster())
	}
	var took string
	if r, f := res.GetReceivedUnixNano(), res.GetFinishedUnixNano(); r > 0 && f > r {
		took = fmt.Sprintf(" in %s from webhook", time.Duration(f-r).Round(time.Millisecond))
	}
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_SUCCEEDED:
		if !res.GetAwaitingHealth() && res.GetHealth() != ferryv1.Health_HEALTH_UNKNOWN {
			return healthLine(head, res)
		}
		line := fmt.Sprintf("✓ synced %s: %d objects (%s)%s", head, len(res.GetObjects()), fleet.Actions(res), took)
		if res.GetAwaitingHealth() {
			line += ", waiting for health"
		}
		return line
	case ferryv1.Phase_PHASE_RENDER_FAILED:
		return fmt.Sprintf("✗ render failed %s: %s %s", head, res.GetFile(), res.GetMessage())
	case ferryv1.Phase_PHASE_UNSPECIFIED: // a command's answer: suspended, resumed, unpinned
		if fleet.Rejected(res) {
			return fmt.Sprintf("✗ %s: %s", head, res.GetMessage())
		}
		return fmt.Sprintf("· %s: %s", head, res.GetMessage())
	case ferryv1.Phase_PHASE_SUPERSEDED, ferryv1.Phase_PHASE_HELD:
		return fmt.Sprintf("· %s %s: %s", fleet.PhaseName(res.GetPhase()), head, res.GetMessage())
	default:
		return fmt.Sprintf("✗ %s %s: %s", fleet.PhaseName(res.GetPhase()), head, res.GetMessage())
	}
}

// healthLine reports the final health of a sync.
func healthLine(head string, res *ferryv1.SyncResult) string {
	took := ""
	if s, f := res.GetStartedUnixNano(), res.GetFinishedUnixNano(); s > 0 && f > s {
		took = fmt.Sprintf(" after %s", time.Duration(f-s).Round(100*time.Millisecond))
	}
	switch res.GetHealth() {
	case ferryv1.Health_HEALTH_HEALTHY:
		return fmt.Sprintf("♥ healthy %s%s", head, took)
	case ferryv1.Health_HEALTH_DEGRADED:
		return fmt.Sprintf("✗ degraded %s%s: %s", head, took, res.GetMessage())
	default:
		return fmt.Sprintf("… still progressing %s%s: %s", head, took, res.GetMessage())
	}
}

func banner(o Options, natsURL, hookURL, kubeconfig string, repo *gitserver.Repo, dash *dashboard) {
	fmt.Fprintf(o.Out, `
Ferry is running (Ctrl-C stops it).

  dashboard  %s   (log in with the %s to sync and roll back)
  webhooks   %s   (secret in %s)
  NATS       %s   (operator nkey seed in %s; ingest, render, drift
             and the apply worker each have their own identity, the
             worker's limited to cluster %q's subjects)
  cluster    %q   kubectl --kubeconfig %s get all -n guestbook
  git        %s   (working copy: %s)

Operate it with the ferry CLI from another shell (bin/ferry after make build,
or go run ./services/ferry):

  export FERRY_NATS_URL=%s FERRY_NATS_NKEY_SEED=%s
  ferry get apps         # then: ferry status guestbook, ferry diff guestbook, ferry events --follow

Deploy a change: edit the sample app, commit and push; the push hook sends
a signed webhook and the result is printed here.

  cd %s
  sed -i 's/replicas: 1/replicas: 3/' guestbook/deployment.yaml
  git commit -qam "Scale guestbook" && git push -q

Drift: change the cluster behind Git's back and watch self-heal revert it.

  kubectl --kubeconfig %s -n guestbook scale deployment guestbook-ui --replicas 5

`, dash.URL, dash.tokenNote(), hookURL, o.path("webhook-secret"), natsconn.RedactURL(natsURL), o.path(operatorSeed), o.Cluster, o.Cluster, kubeconfig, repo.URL, repo.WorkDir,
		natsconn.RedactURL(natsURL), absPath(o.path(operatorSeed)), repo.WorkDir, kubeconfig)
}

// absPath is p made absolute, so a line to copy works from any directory.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
