package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/bundle"
	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natstest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/apply/worker"
)

// cp is the control plane of this package's tests (etcd and
// kube-apiserver; ConfigMaps need no controllers).
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(controlplane.MainWith(m, &cp, controlplane.Options{}))
}

// deployMemoryLimit is the worker's memory limit in
// deploy/kubernetes/apply/apply.yaml.
const deployMemoryLimit = 384 << 20

// largestRenderedBytes and largestObjects are render's default
// --max-rendered-bytes and --max-objects
// (services/render/renderer/limits.go): the largest revision render
// publishes. The worker's --max-bundle-bytes defaults to the former.
const (
	largestRenderedBytes = worker.DefaultMaxBundleBytes
	largestObjects       = 5000
)

// The apply worker, built as shipped and run as its own process with the
// deploy's settings, applies the largest revisions render's default
// limits allow (16 MiB as 5,000 objects, and 16 MiB as 1 MB objects, to
// two apps at once) with its peak RSS under the deploy's 384 MiB limit,
// then refuses a revision one byte over the limit with a FAILED result
// and stays up.
//
// The limit is checked on VmHWM rather than enforced: `ulimit -v` cannot
// express it, as the Go runtime reserves over 1 GiB of address space at
// start ("failed to reserve page summary memory" under 384 MiB), and the
// test does not own a memory cgroup.
func TestWorkerMemoryUnderDeployLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker binary and applies 32 MiB of manifests")
	}
	bin := filepath.Join(t.TempDir(), "ferry-apply")
	build := exec.CommandContext(t.Context(), "go", "build", "-tags", "grpcnotrace", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build apply worker: %v\n%s", err, out)
	}
	srv, nc, js := natstest.JetStream(t)
	const cluster = "mem"
	results := make(chan *ferryv1.SyncResult, 16)
	sub, err := nc.Subscribe(subject.StatusForCluster(cluster), func(m *nats.Msg) {
		var r ferryv1.SyncResult
		if _, err := events.Decode(context.Background(), m.Header, m.Data, &r); err == nil && !r.GetAwaitingHealth() {
			results <- &r
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	w := startWorker(t, bin, "--cluster", cluster, "--kubeconfig", cp.Kubeconfig(), "--nats-url", srv.ClientURL(),
		"--health-timeout", "-1s")

	publish := func(app, rev string, data []byte) *ferryv1.DesiredState {
		t.Helper()
		ds := &ferryv1.DesiredState{App: app, Cluster: cluster, Namespace: app, Revision: rev,
			Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true}}
		if err := bundle.Attach(t.Context(), js, ds, data); err != nil {
			t.Fatal(err)
		}
		if _, err := events.Publish(t.Context(), js, subject.Desired(cluster, app), ds, ""); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	seen := map[string]*ferryv1.SyncResult{} // by app@revision, in any order
	await := func(app, rev string, timeout time.Duration) *ferryv1.SyncResult {
		t.Helper()
		deadline := time.After(timeout)
		for {
			if r, ok := seen[app+"@"+rev]; ok {
				return r
			}
			select {
			case r := <-results:
				seen[r.GetApp()+"@"+r.GetRevision()] = r
			case <-w.exited:
				t.Fatalf("the worker exited while applying %s@%s: %v\n%s", app, rev, w.err, w.stderr())
			case <-deadline:
				t.Fatalf("no result for %s@%s within %s\n%s", app, rev, timeout, w.stderr())
			}
		}
	}

	cases := []struct {
		app  string
		data []byte
	}{
		{"many", manifests("many", largestObjects, largestRenderedBytes)},
		// ConfigMaps of about 1 MB, the most the API server accepts in one.
		{"large", manifests("large", 18, largestRenderedBytes)},
	}
	// Both at once: the worker's byte budget admits one largest bundle
	// at a time, so apps applied in parallel do not add up.
	started := time.Now()
	for _, c := range cases {
		if len(c.data) > largestRenderedBytes {
			t.Fatalf("%s: %d bytes, over the limit", c.app, len(c.data))
		}
		if ds := publish(c.app, "r1", c.data); ds.GetBundle() == "" {
			t.Fatalf("%s: the largest revision should travel in the object store", c.app)
		}
	}
	for _, c := range cases {
		r := await(c.app, "r1", 10*time.Minute)
		objects := bytes.Count(c.data, []byte("\nkind: "))
		t.Logf("%s: %d bytes, %d objects: %s after %s; worker peak RSS so far %.1f MiB",
			c.app, len(c.data), objects, r.GetPhase(), time.Since(started).Round(time.Second), float64(w.memory(t)["VmHWM"])/(1<<20))
		if r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED || len(r.GetObjects()) != objects {
			t.Errorf("%s: %s with %d objects (%.300s), want SUCCEEDED with every object", c.app, r.GetPhase(), len(r.GetObjects()), r.GetMessage())
		}
	}

	over := manifests("over", 18, largestRenderedBytes+1)
	if len(over) != largestRenderedBytes+1 {
		t.Fatalf("the oversize revision is %d bytes, want %d", len(over), largestRenderedBytes+1)
	}
	publish("over", "r1", over)
	r := await("over", "r1", 2*time.Minute)
	if r.GetPhase() != ferryv1.Phase_PHASE_FAILED || !strings.Contains(r.GetMessage(), "bundle too large") ||
		!strings.Contains(r.GetMessage(), "--max-bundle-bytes") || len(r.GetObjects()) != 0 {
		t.Errorf("a revision of %d bytes: %s, %d objects, %q; want FAILED, nothing applied, and why", len(over), r.GetPhase(), len(r.GetObjects()), r.GetMessage())
	}
	// Alive and applying.
	publish("after", "r1", manifests("after", 2, 0))
	if r := await("after", "r1", time.Minute); r.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
		t.Errorf("after the refusal: %s %q, want SUCCEEDED", r.GetPhase(), r.GetMessage())
	}
	mem := w.memory(t)
	t.Logf("worker memory: peak RSS (VmHWM) %.1f MiB, RSS now %.1f MiB; deploy limit %d MiB",
		float64(mem["VmHWM"])/(1<<20), float64(mem["VmRSS"])/(1<<20), deployMemoryLimit>>20)
	if mem["VmHWM"] >= deployMemoryLimit {
		t.Errorf("worker peak RSS %.1f MiB, want under the deploy limit of %d MiB", float64(mem["VmHWM"])/(1<<20), deployMemoryLimit>>20)
	}
}

// manifests is a Namespace named app and objects-1 ConfigMaps in it,
// padded so the whole is as close to size bytes as the objects allow (at
// least the bare objects when size is smaller).
func manifests(app string, objects, size int) []byte {
	head := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", app)
	cm := func(i, pad int) string {
		return fmt.Sprintf("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%04d\ndata:\n  v: %q\n", app, i, strings.Repeat("x", pad))
	}
	bare := len(cm(0, 0))
	pad := max(0, (size-len(head))/(objects-1)-bare)
	var b bytes.Buffer
	b.WriteString(head)
	for i := range objects - 1 {
		b.WriteString(cm(i, pad))
	}
	if key := len("  w: \"\"\n"); size-b.Len() >= key {
		// The remainder goes into one more key of the last ConfigMap.
		fmt.Fprintf(&b, "  w: %q\n", strings.Repeat("y", size-b.Len()-key))
	}
	return b.Bytes()
}

// proc is the worker process.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process ends
	err    error         // its exit, once exited is closed
	mu     sync.Mutex
	out    bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// stderr is the tail of what the worker logged.
func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.out.String()
	return s[max(0, len(s)-4000):]
}

// startWorker starts bin with args and stops it (SIGTERM, then SIGKILL)
// by its PID when the test ends; a worker that exited on its own fails
// the test.
func startWorker(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			t.Errorf("the worker exited before the test stopped it: %v\n%s", p.err, p.stderr())
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("the worker did not stop within 30s of SIGTERM")
		}
	})
	return p
}

// memory reads the Vm* lines of the worker's /proc status, in bytes.
func (p *proc) memory(t *testing.T) map[string]int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("worker memory: %v", err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && strings.HasPrefix(fields[0], "Vm") && fields[2] == "kB" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			out[strings.TrimSuffix(fields[0], ":")] = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("worker memory: %v", err)
	}
	return out
}
