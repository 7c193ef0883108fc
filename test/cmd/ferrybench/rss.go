package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/test/harness"
)

// workerRSS builds the standalone apply binary as make build does, runs
// it as its own process for cluster "rss" against the pipeline's NATS and
// cp, publishes apps desired states of objects objects each, waits until
// all are applied and reports the worker's resident memory (VmRSS and
// VmHWM).
func workerRSS(ctx context.Context, out io.Writer, pipe *harness.Pipeline, cp *controlplane.ControlPlane, apps, objects int) error {
	bin := filepath.Join(pipe.Dir, "ferry-apply")
	// Built as make build and make images build it: static (no cgo), and
	// with gRPC's x/net/trace debug pages left out, which otherwise keep
	// every method of every linked type in the binary.
	build := exec.CommandContext(ctx, "go", "build", "-tags", "grpcnotrace", "-o", bin, "./services/apply")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Dir = repoRoot()
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build apply worker: %w: %s", err, b)
	}
	const cluster = "rss"
	results := make(chan *ferryv1.SyncResult, apps)
	cons, err := pipe.JS.OrderedConsumer(ctx, subject.StreamStatus, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject.StatusForCluster(cluster)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, msg, &r); err == nil {
			results <- &r
		}
	})
	if err != nil {
		return err
	}
	defer cc.Stop()

	cmd := exec.CommandContext(ctx, bin, "--cluster", cluster, "--kubeconfig", cp.Kubeconfig(),
		"--nats-url", pipe.NATS.ClientURL(), "--log-level", "warn",
		// The bench cluster runs no controllers: Deployments never become
		// ready, so end health waits soon and measure the worker at rest.
		"--health-timeout", "5s")
	cmd.Stderr = os.Stderr
	if v := os.Getenv("FERRYBENCH_WORKER_ENV"); v != "" {
		cmd.Env = append(os.Environ(), v) // e.g. GODEBUG=gctrace=1 to see the live heap
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start apply worker: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()

	start := time.Now()
	for i := range apps {
		app := fmt.Sprintf("app-%03d", i)
		ds := &ferryv1.DesiredState{App: app, Cluster: cluster, Namespace: app, Revision: "rss-1",
			Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true, SelfHeal: true}}
		files := appFiles("", app, objects, 0)
		if err := bundle.Attach(ctx, pipe.JS, ds, []byte(files["app/objects.yaml"])); err != nil {
			return err
		}
		if _, err := events.Publish(ctx, pipe.JS, subject.Desired(cluster, app), ds, ""); err != nil {
			return err
		}
	}
	for done := 0; done < apps; {
		select {
		case r := <-results:
			if r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
				return fmt.Errorf("rss app %s: %v: %s", r.GetApp(), r.GetPhase(), r.GetMessage())
			}
			done++
		case <-time.After(5 * time.Minute):
			return fmt.Errorf("only %d of %d apps applied within 5m", done, apps)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	took := time.Since(start)
	time.Sleep(8 * time.Second) // settle: health waits over, watches established, GC ran
	mem, err := memory(cmd.Process.Pid)
	if err != nil {
		return err
	}
	// CPU at rest: the drift watch and heartbeats over a quiet window.
	const window = 10 * time.Second
	t0, err := cpuTicks(cmd.Process.Pid)
	if err != nil {
		return err
	}
	time.Sleep(window)
	t1, err := cpuTicks(cmd.Process.Pid)
	if err != nil {
		return err
	}
	cpu := float64(t1-t0) / 100 / window.Seconds() * 100 // USER_HZ is 100 on Linux
	fmt.Fprintf(out, "\n### Apply worker memory, %d apps × %d objects, separate process\n\n", apps, objects)
	fmt.Fprintln(out, "| metric | value | target |")
	fmt.Fprintln(out, "|---|---|---|")
	fmt.Fprintf(out, "| all %d apps applied (cold worker) | %.1f s | |\n", apps, took.Seconds())
	mib := func(k string) string { return fmt.Sprintf("%.1f MiB", float64(mem[k])/1024) }
	fmt.Fprintf(out, "| RSS at rest after applying (VmRSS) | %s | ≤ 50 MiB |\n", mib("VmRSS"))
	fmt.Fprintf(out, "| of which private memory (RssAnon: heap, stacks) | %s | |\n", mib("RssAnon"))
	fmt.Fprintf(out, "| of which the mapped binary (RssFile) | %s | |\n", mib("RssFile"))
	fmt.Fprintf(out, "| peak RSS (VmHWM) | %s | |\n", mib("VmHWM"))
	fmt.Fprintf(out, "| CPU at rest, %d managed objects watched | %.2f%% of one core over %s | |\n", apps*objects, cpu, window)
	return nil
}

// memory reads the Vm*/Rss* lines (KiB) of pid's /proc status.
func memory(pid int) (map[string]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("read worker memory: %w", err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && (strings.HasPrefix(fields[0], "Vm") || strings.HasPrefix(fields[0], "Rss")) {
			v, _ := strconv.Atoi(fields[1])
			out[strings.TrimSuffix(fields[0], ":")] = v
		}
	}
	return out, sc.Err()
}

// repoRoot is the workspace root (where go.work is), from the working
// directory make bench runs in.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d
		}
	}
	return dir
}

// cpuTicks is the user + system CPU time of pid, in clock ticks.
func cpuTicks(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read worker cpu: %w", err)
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return utime + stime, nil
}
