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

	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/test/harness"
)

func main() {
	pushes := flag.Int("pushes", 100, "pushes for the webhook → applied latency")
	objects := flag.Int("objects", 10, "objects in the benchmark app")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *pushes, *objects); err != nil {
		fmt.Fprintln(os.Stderr, "ferrybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, pushes, objects int) error {
	ctx = logging.Into(ctx, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
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
	pipe, err := harness.Start(ctx, harness.Config{Dir: dir, Rest: cp.RESTConfig(), Cluster: "bench"})
	if err != nil {
		return err
	}
	defer pipe.Close()

	fmt.Fprintf(out, "## Ferry benchmarks — %s, %d cores, %s\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(out, "| benchmark | n | p50 | p90 | p99 | max | notes |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	lat, err := webhookToApplied(ctx, pipe, pushes, objects)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, lat.row(fmt.Sprintf("webhook → %d-object app applied", objects),
		"signed GitHub webhook POST until the SUCCEEDED SyncResult is received; target p50 ≤ 200 ms"))
	return nil
}
