package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/services/apply/applybench"
)

// applyRows runs the 1,000-object apply comparison on cp and prints its
// rows: the client-go floor, Ferry's apply path, the unchanged re-apply and
// kubectl, all on the same cluster in the same run.
func applyRows(ctx context.Context, out io.Writer, cp *controlplane.ControlPlane, n int) error {
	r, err := applybench.Run(ctx, cp.RESTConfig(), cp.Kubeconfig(), "ferrybench", n)
	if err != nil {
		return fmt.Errorf("apply benchmark: %w", err)
	}
	fmt.Fprintf(out, "\n### Apply %d objects (60%% ConfigMaps, 20%% Services, 20%% Deployments), fresh namespace each\n\n", n)
	fmt.Fprintln(out, "| path | time | objects/s | vs floor |")
	fmt.Fprintln(out, "|---|---|---|---|")
	row := func(name string, d time.Duration) {
		if d <= 0 {
			fmt.Fprintf(out, "| %s | not run (tool missing) | | |\n", name)
			return
		}
		fmt.Fprintf(out, "| %s | %.3f s | %.0f | %.2f× |\n", name, d.Seconds(), float64(n)/d.Seconds(), d.Seconds()/r.Floor().Seconds())
	}
	row(fmt.Sprintf("floor: client-go parallel dry run (%.2f s) + apply (%.2f s)", r.FloorDryRun.Seconds(), r.FloorApply.Seconds()), r.Floor())
	row("**Ferry worker apply path** (dry-run gate, staged parallel apply, inventory)", r.Worker)
	fmt.Fprintf(out, "| Ferry, unchanged revision (skipped by digest) | %.3f s | — | %.0f× faster than the first apply |\n",
		r.Unchanged.Seconds(), r.Worker.Seconds()/max(r.Unchanged.Seconds(), 1e-9))
	row("Ferry, same objects under a new digest (every object diffed)", r.UnchangedFull)
	row("kubectl apply --server-side", r.Kubectl)
	row("kubectl apply --server-side --validate=false", r.KubectlNoValidate)
	return nil
}
