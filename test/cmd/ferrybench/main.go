// Command ferrybench measures Ferry end to end on this machine against real
// components and prints a Markdown table (make bench). See BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/test/harness"
)

func main() {
	var o benchOptions
	flag.IntVar(&o.pushes, "pushes", 100, "pushes for the webhook → applied latency")
	flag.IntVar(&o.objects, "objects", 10, "objects in the latency benchmark's app")
	flag.IntVar(&o.applyObjects, "apply-objects", 1000, "objects in the apply comparison (0 skips it)")
	flag.IntVar(&o.driftEdits, "drift-edits", 50, "out-of-band edits for the drift latency (0 skips it)")
	flag.IntVar(&o.rssApps, "rss-apps", 100, "apps for the worker memory measurement (0 skips it)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "ferrybench:", err)
		os.Exit(1)
	}
}

// benchOptions selects what to measure.
type benchOptions struct {
	pushes, objects, applyObjects, rssApps, driftEdits int
}

func run(ctx context.Context, out io.Writer, o benchOptions) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx = logging.Into(ctx, log)
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	dir, err := os.MkdirTemp("", "ferrybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "starting control plane (etcd + kube-apiserver)...")
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: dir + "/cluster", Progress: os.Stderr})
	if err != nil {
		return err
	}
	defer func() { _ = cp.Stop() }()
	sink := newSlackSink()
	defer sink.Close()
	drift, err := config.Parse([]byte("routes:\n  - {name: bench, slack: {webhookURL: \"" + sink.URL + "/services/T/B/X\"}}\n"))
	if err != nil {
		return err
	}
	pipe, err := harness.Start(ctx, harness.Config{Dir: dir, Rest: cp.RESTConfig(), Cluster: "bench",
		HealthTimeout: time.Second, Drift: drift})
	if err != nil {
		return err
	}
	defer pipe.Close()

	fmt.Fprintf(out, "## Ferry benchmarks — %s, %d cores, %s\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(out, "| benchmark | n | p50 | p90 | p99 | max | notes |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	if o.pushes > 0 {
		lat, err := webhookToApplied(ctx, pipe, o.pushes, o.objects)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, lat.row(fmt.Sprintf("webhook → %d-object app applied", o.objects),
			"signed GitHub webhook POST until the SUCCEEDED SyncResult is received; target p50 ≤ 200 ms"))
	}
	if o.driftEdits > 0 {
		toEvent, toSlack, err := driftLatency(ctx, pipe, kubernetes.NewForConfigOrDie(cp.RESTConfig()), sink, o.driftEdits)
		if err != nil {
			return fmt.Errorf("drift benchmark: %w", err)
		}
		fmt.Fprintln(out, toEvent.row("out-of-band edit → DriftEvent published", "kubectl-edit-style patch of a managed ConfigMap; target p99 ≤ 200 ms"))
		fmt.Fprintln(out, toSlack.row("out-of-band edit → Slack request received", "incoming-webhook stand-in on loopback; target p99 ≤ 1 s"))
	}
	if o.applyObjects > 0 {
		if err := applyRows(ctx, out, cp, o.applyObjects); err != nil {
			return err
		}
	}
	if o.rssApps > 0 {
		if err := workerRSS(ctx, out, pipe, cp, o.rssApps, 10); err != nil {
			return err
		}
	}
	return nil
}
