package fleet

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// BenchmarkDeployments times what `ferry get apps` and the dashboard's
// grid read: 500 apps in 2 clusters, each with an 8 KiB desired state, a
// result of 10 objects, and for every tenth app a newer held note and a
// drift event. The held notes make Deployments look back for the
// newest result that judges a sync.
func BenchmarkDeployments(b *testing.B) {
	const apps, clusters = 500, 2
	_, nc, js := natstest.JetStream(b)
	c, err := NewClient(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	manifests := bytes.Repeat([]byte("# padding of a rendered manifest\n"), 8<<10/33)
	for i := range apps {
		app := fmt.Sprintf("app-%03d", i)
		for j := range clusters {
			cl := fmt.Sprintf("cluster-%d", j)
			ds := desired(cl, app, "rev1", "sha256:1")
			ds.Manifests = manifests
			res := result(cl, app, "rev1", "sha256:1", ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Health_HEALTH_HEALTHY)
			for k := 1; k < 10; k++ {
				res.Objects = append(res.Objects, res.Objects[0])
			}
			if _, err := events.Publish(ctx, js, subject.Desired(cl, app), ds, ""); err != nil {
				b.Fatal(err)
			}
			if _, err := events.Publish(ctx, js, subject.Status(cl, app), res, ""); err != nil {
				b.Fatal(err)
			}
			if i%10 == 0 {
				held := &ferryv1.SyncResult{App: app, Cluster: cl, Revision: "rev2", Phase: ferryv1.Phase_PHASE_HELD, Message: "suspended"}
				if _, err := events.Publish(ctx, js, subject.Status(cl, app), held, ""); err != nil {
					b.Fatal(err)
				}
				drift := &ferryv1.DriftEvent{App: app, Cluster: cl, Revision: "rev1",
					Objects: []*ferryv1.DriftedObject{{Ref: res.Objects[0].GetRef(), Diff: "/data/x: a → b"}}}
				if _, err := events.Publish(ctx, js, subject.Drift(cl, app), drift, ""); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	// Round trips matter more than CPU once NATS is across a network:
	// count the messages the client sends (API requests, fetches).
	before := nc.Stats().OutMsgs
	b.ResetTimer()
	for b.Loop() {
		ds, err := c.Deployments(ctx, Filter{})
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) != apps*clusters {
			b.Fatalf("%d deployments, want %d", len(ds), apps*clusters)
		}
	}
	b.ReportMetric(float64(nc.Stats().OutMsgs-before)/float64(b.N), "requests/op")
}
