package applybench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/apply/worker"
)

// floorWorkers is the parallelism of the bare client-go floor, the same
// as the worker's per-app request parallelism.
const floorWorkers = 16

// Report holds one run's numbers; durations are wall-clock.
type Report struct {
	Objects int
	// Floor is a bare client-go parallel server-side dry run, then a
	// parallel server-side apply, of the same objects.
	FloorDryRun, FloorApply time.Duration
	// Worker is the worker's apply path (dry-run gate, staged parallel
	// apply, inventory) on a fresh namespace.
	Worker time.Duration
	// Unchanged is the same revision again: skipped by the inventory's
	// digest. UnchangedFull is the same objects under a new digest: every
	// object dry-run and found unchanged, nothing written.
	Unchanged, UnchangedFull time.Duration
	// Kubectl and KubectlNoValidate are `kubectl apply --server-side`
	// without and with --validate=false; zero when kubectl is missing.
	Kubectl, KubectlNoValidate time.Duration
}

// Floor is FloorDryRun + FloorApply.
func (r *Report) Floor() time.Duration { return r.FloorDryRun + r.FloorApply }

// String renders the report as a small table.
func (r *Report) String() string {
	rate := func(d time.Duration) string {
		if d <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%8.3fs %7.0f obj/s", d.Seconds(), float64(r.Objects)/d.Seconds())
	}
	return fmt.Sprintf(`apply %d objects (60%% ConfigMaps, 20%% Services, 20%% Deployments), fresh namespace each
  floor: client-go parallel dry run + apply   %s  (dry run %.3fs + apply %.3fs)
  ferry worker apply path (gate+apply+inv)    %s  (%.2fx the floor)
  ferry unchanged revision (digest skip)      %s  (%.0fx faster than the first apply)
  ferry same objects, new digest (full diff)  %s
  kubectl apply --server-side                 %s
  kubectl apply --server-side --validate=false %s
`, r.Objects, rate(r.Floor()), r.FloorDryRun.Seconds(), r.FloorApply.Seconds(),
		rate(r.Worker), r.Worker.Seconds()/r.Floor().Seconds(),
		rate(r.Unchanged), r.Worker.Seconds()/max(r.Unchanged.Seconds(), 1e-9),
		rate(r.UnchangedFull), rate(r.Kubectl), rate(r.KubectlNoValidate))
}

// Run applies n objects four ways to fresh namespaces named after prefix
// on the cluster of cfg: the client-go floor, the worker's apply path
// (then again unchanged), and kubectl at kubeconfig (skipped when kubectl
// is not on PATH).
func Run(ctx context.Context, cfg *rest.Config, kubeconfig, prefix string, n int) (*Report, error) {
	r := &Report{Objects: n}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ns := func(s string) (string, error) {
		name := prefix + "-" + s
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		return name, err
	}

	floorNS, err := ns("floor")
	if err != nil {
		return nil, err
	}
	if r.FloorDryRun, r.FloorApply, err = floor(ctx, c, Manifests(floorNS, n)); err != nil {
		return nil, err
	}

	workerNS, err := ns("worker")
	if err != nil {
		return nil, err
	}
	a, err := worker.NewApplier(cfg, worker.Options{})
	if err != nil {
		return nil, err
	}
	data := Manifests(workerNS, n)
	ds := &ferryv1.DesiredState{App: workerNS, Namespace: workerNS, Revision: "r1", Digest: digest(data),
		Sync: &ferryv1.SyncPolicy{Automated: true, Prune: true}}
	if r.Worker, err = timed(func() error { return applyOK(ctx, a, ds, data) }); err != nil {
		return nil, err
	}
	if r.Unchanged, err = timed(func() error { return applyOK(ctx, a, ds, data) }); err != nil {
		return nil, err
	}
	ds2 := &ferryv1.DesiredState{App: ds.GetApp(), Namespace: workerNS, Revision: "r2", Digest: digest(data) + "-2", Sync: ds.GetSync()}
	if r.UnchangedFull, err = timed(func() error { return applyOK(ctx, a, ds2, data) }); err != nil {
		return nil, err
	}

	if _, err := exec.LookPath("kubectl"); err == nil {
		for _, k := range []struct {
			name  string
			extra []string
			out   *time.Duration
		}{
			{"kubectl", nil, &r.Kubectl},
			{"kubectl-novalidate", []string{"--validate=false"}, &r.KubectlNoValidate},
		} {
			kns, err := ns(k.name)
			if err != nil {
				return nil, err
			}
			if *k.out, err = kubectl(ctx, kubeconfig, Manifests(kns, n), k.extra...); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// applyOK applies through the worker's path and fails on a failed sync.
func applyOK(ctx context.Context, a *worker.Applier, ds *ferryv1.DesiredState, data []byte) error {
	res, err := a.Apply(ctx, ds, data)
	if err != nil {
		return err
	}
	if res.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED || len(res.GetObjects()) == 0 {
		return fmt.Errorf("worker apply: %s: %s", res.GetPhase(), res.GetMessage())
	}
	return nil
}

// floor times a parallel server-side dry run and then a parallel
// server-side apply of the objects in data, with a bare client.
func floor(ctx context.Context, c client.Client, data []byte) (dryRun, apply time.Duration, err error) {
	objs, err := parse(data)
	if err != nil {
		return 0, 0, err
	}
	pass := func(opts ...client.PatchOption) (time.Duration, error) {
		return timed(func() error {
			return parallel(len(objs), floorWorkers, func(i int) error {
				u := objs[i].DeepCopy()
				return c.Patch(ctx, u, client.Apply, append(opts, client.ForceOwnership, client.FieldOwner("floor"))...)
			})
		})
	}
	if dryRun, err = pass(client.DryRunAll); err != nil {
		return 0, 0, fmt.Errorf("floor dry run: %w", err)
	}
	if apply, err = pass(); err != nil {
		return 0, 0, fmt.Errorf("floor apply: %w", err)
	}
	return dryRun, apply, nil
}

// kubectl times `kubectl apply --server-side -f` of data.
func kubectl(ctx context.Context, kubeconfig string, data []byte, extra ...string) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "applybench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "objects.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return 0, err
	}
	args := append([]string{"--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=kubectl-bench", "-f", file}, extra...)
	return timed(func() error {
		out, err := exec.CommandContext(ctx, "kubectl", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl apply: %w: %s", err, tail(out))
		}
		return nil
	})
}

func tail(b []byte) string {
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return string(b)
}

func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
