package dev

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// followStatus prints one line per sync result until ctx is done.
func followStatus(ctx context.Context, js jetstream.JetStream, out io.Writer) error {
	cons, err := js.OrderedConsumer(ctx, subject.StreamStatus, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject.AllStatus}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("follow sync results: %w", err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var res ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, msg, &res); err == nil {
			fmt.Fprintln(out, statusLine(&res))
		}
	})
	if err != nil {
		return fmt.Errorf("follow sync results: %w", err)
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

func statusLine(res *ferryv1.SyncResult) string {
	rev := res.GetRevision()
	if len(rev) > 8 {
		rev = rev[:8]
	}
	head := fmt.Sprintf("%s → %s @ %s", res.GetApp(), res.GetCluster(), rev)
	var took string
	if r, f := res.GetReceivedUnixNano(), res.GetFinishedUnixNano(); r > 0 && f > r {
		took = fmt.Sprintf(" in %s from webhook", time.Duration(f-r).Round(time.Millisecond))
	}
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_SUCCEEDED:
		counts := map[string]int{}
		for _, o := range res.GetObjects() {
			counts[strings.ToLower(strings.TrimPrefix(o.GetAction().String(), "ACTION_"))]++
		}
		var parts []string
		for _, a := range []string{"created", "configured", "unchanged", "deleted"} {
			if counts[a] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
			}
		}
		return fmt.Sprintf("✓ synced %s: %d objects (%s)%s", head, len(res.GetObjects()), strings.Join(parts, ", "), took)
	case ferryv1.Phase_PHASE_RENDER_FAILED:
		return fmt.Sprintf("✗ render failed %s: %s %s", head, res.GetFile(), res.GetMessage())
	default:
		return fmt.Sprintf("✗ %s %s: %s", strings.ToLower(strings.TrimPrefix(res.GetPhase().String(), "PHASE_")), head, res.GetMessage())
	}
}

func banner(o Options, natsURL, hookURL, kubeconfig string, repo *gitserver.Repo) {
	fmt.Fprintf(o.Out, `
Ferry is running (Ctrl-C stops it).

  webhooks   %s   (secret in %s)
  NATS       %s
  cluster    %q   kubectl --kubeconfig %s get all -n guestbook
  git        %s   (working copy: %s)

Deploy a change: edit the sample app, commit and push; the push hook sends
a signed webhook and the result is printed here.

  cd %s
  sed -i 's/replicas: 1/replicas: 3/' guestbook/deployment.yaml
  git commit -qam "Scale guestbook" && git push -q

`, hookURL, o.path("webhook-secret"), natsURL, o.Cluster, kubeconfig, repo.URL, repo.WorkDir, repo.WorkDir)
}
