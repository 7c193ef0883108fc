package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
	"github.com/ferrycd/ferry/services/ferry/cli"
)

// TestDiffWithoutWorkerFailsFast: a diff for a cluster whose worker is
// not running fails at once (NATS has no responders), saying when the
// worker was last seen and what to check.
func TestDiffWithoutWorkerFailsFast(t *testing.T) {
	kv, err := pipe.JS.KeyValue(t.Context(), subject.BucketClusters)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := cluster.Encode(cluster.Heartbeat{Cluster: "gone", Version: "v1", SeenAt: time.Now().Add(-5 * time.Minute),
		Interval: cluster.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "gone", hb); err != nil {
		t.Fatal(err)
	}
	for cl, want := range map[string]string{
		"ghost": `no worker for cluster "ghost" has ever been seen: start its apply worker`,
		"gone":  `no worker for cluster "gone" has been seen for 5m0s: is its apply worker running`,
	} {
		started := time.Now()
		r := ferry(t, "diff", "web", "--cluster", cl)
		if took := time.Since(started); took > 5*time.Second {
			t.Errorf("diff for %s took %s; it must fail fast", cl, took)
		}
		if r.code != cli.ExitError || !strings.Contains(r.err, want) || r.out != "" {
			t.Errorf("diff for %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", cl, r.code, r.out, r.err, want)
		}
	}
	if r := rowOf(t, ok(t, "get", "clusters", "-o", "wide"), "gone"); r[1] != "5m" || r[5] != "gone" {
		t.Errorf("get clusters row of a cluster gone 5m: %v", r)
	}
}
