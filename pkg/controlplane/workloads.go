package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// KwokVersion is the kwok release that fakes kubelets when
// Options.Workloads is set.
const KwokVersion = "v0.8.0"

// FakeNodeName is the one Node that kwok manages.
const FakeNodeName = "kwok-node-0"

// kwokStages are the kwok stage sets (from the module's kustomize/stage
// folder) that make a Node Ready and keep it so, and run Pods at once.
var kwokStages = []string{"node/fast", "node/heartbeat", "pod/fast"}

// nodeReadyTimeout bounds the wait for kwok to make the fake Node Ready.
const nodeReadyTimeout = 60 * time.Second

// workloadBinaries are the programs that make Pods run without kubelets.
type workloadBinaries struct {
	controllerManager, scheduler, kwok, kwokConfig string
}

// ensureWorkloadBinaries builds kube-controller-manager and kube-scheduler
// from the same wrapper module as kube-apiserver, installs kwok, and
// writes kwok's configuration, all into cacheDir.
func ensureWorkloadBinaries(ctx context.Context, cacheDir string, progress io.Writer) (*workloadBinaries, error) {
	var b workloadBinaries
	var err error
	if b.controllerManager, err = ensureKubeBinary(ctx, cacheDir, "kube-controller-manager", "./cmd/kube-controller-manager", progress); err != nil {
		return nil, err
	}
	if b.scheduler, err = ensureKubeBinary(ctx, cacheDir, "kube-scheduler", "./cmd/kube-scheduler", progress); err != nil {
		return nil, err
	}
	if b.kwok, b.kwokConfig, err = ensureKwok(ctx, cacheDir, progress); err != nil {
		return nil, err
	}
	return &b, nil
}

// EnsureWorkloadBinaries builds (once) the programs a control plane
// started with workloads needs besides kube-apiserver:
// kube-controller-manager, kube-scheduler and kwok, into cacheDir.
func EnsureWorkloadBinaries(ctx context.Context, cacheDir string, progress io.Writer) error {
	_, err := ensureWorkloadBinaries(ctx, cacheDir, progress)
	return err
}

// ensureKwok installs kwok into cacheDir/bin with go install and joins its
// stages into one --config file next to it.
func ensureKwok(ctx context.Context, cacheDir string, progress io.Writer) (binary, config string, err error) {
	if progress == nil {
		progress = io.Discard
	}
	binDir := filepath.Join(cacheDir, "bin")
	binary = filepath.Join(binDir, "kwok-"+KwokVersion)
	config = filepath.Join(binDir, "kwok-"+KwokVersion+"-stages.yaml")
	if isExecutable(binary) && fileExists(config) {
		return binary, config, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", "", fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(binDir, ".kwok.lock"), func() {
		fmt.Fprintln(progress, "waiting for another process to finish installing kwok...")
	})
	if err != nil {
		return "", "", fmt.Errorf("lock kwok install: %w", err)
	}
	defer unlock()
	if isExecutable(binary) && fileExists(config) {
		return binary, config, nil
	}
	goBin, err := findGo()
	if err != nil {
		return "", "", err
	}
	tmpBin, err := os.MkdirTemp(binDir, ".kwok-")
	if err != nil {
		return "", "", fmt.Errorf("create kwok build dir: %w", err)
	}
	defer os.RemoveAll(tmpBin)
	fmt.Fprintf(progress, "installing kwok %s (first run only, ~2 min)...\n", KwokVersion)
	cmd := exec.CommandContext(ctx, goBin, "install", "sigs.k8s.io/kwok/cmd/kwok@"+KwokVersion)
	cmd.Dir = tmpBin
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false", "GOBIN="+tmpBin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go install kwok: %w\n%s", err, lastLines(out.String(), 20))
	}
	if err := writeKwokConfig(ctx, goBin, config); err != nil {
		return "", "", err
	}
	if err := os.Rename(filepath.Join(tmpBin, "kwok"), binary); err != nil {
		return "", "", fmt.Errorf("install kwok: %w", err)
	}
	return binary, config, nil
}

// writeKwokConfig joins the kwokStages YAML files of the kwok module (in
// the module cache after go install) into path.
func writeKwokConfig(ctx context.Context, goBin, path string) error {
	modCache, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	root := filepath.Join(strings.TrimSpace(string(modCache)), "sigs.k8s.io", "kwok@"+KwokVersion, "kustomize", "stage")
	var docs []string
	for _, stage := range kwokStages {
		files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(stage), "*.yaml"))
		if err != nil || len(files) == 0 {
			return fmt.Errorf("kwok stages %s: none in %s", stage, root)
		}
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("read kwok stage: %w", err)
			}
			docs = append(docs, strings.TrimSpace(string(data)))
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("write kwok config: %w", err)
	}
	return os.Rename(tmp, path)
}

// workloads are the running controller manager, scheduler and kwok.
type workloads struct {
	procs []*process // in start order
}

// startWorkloads starts kube-controller-manager, kube-scheduler and kwok
// against the API server, registers the fake Node and waits until kwok
// reports it Ready.
func startWorkloads(ctx context.Context, b *workloadBinaries, dir, kubeconfig string, cfg *rest.Config, creds *credentials, log *slog.Logger) (_ *workloads, err error) {
	w := &workloads{}
	defer func() {
		if err != nil {
			_ = w.stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	commands := []struct {
		name, binary string
		args         []string
	}{
		{"kube-controller-manager", b.controllerManager, []string{
			"--kubeconfig=" + kubeconfig,
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--service-account-private-key-file=" + creds.saKeyFile,
			"--root-ca-file=" + creds.caFile,
			"--service-cluster-ip-range=10.0.0.0/16",
		}},
		{"kube-scheduler", b.scheduler, []string{
			"--kubeconfig=" + kubeconfig,
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[1]),
		}},
		{"kwok", b.kwok, []string{
			"--kubeconfig=" + kubeconfig,
			"--config=" + b.kwokConfig,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--server-address=127.0.0.1:" + strconv.Itoa(ports[2]),
			"--cidr=10.244.0.0/16",
			"--node-ip=10.244.0.1",
		}},
	}
	for _, c := range commands {
		p, err := startProcess(c.name, c.binary, dir, c.args)
		if err != nil {
			return nil, err
		}
		w.procs = append(w.procs, p)
		log.Debug(c.name+" started", "pid", p.pid(), "log", p.logPath)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if err := createFakeNode(ctx, cs); err != nil {
		return nil, err
	}
	if err := w.waitNodeReady(ctx, cs); err != nil {
		return nil, err
	}
	return w, nil
}

// createFakeNode registers FakeNodeName for kwok, with room for many Pods
// and no taints, so any Pod without a node selector can run on it.
func createFakeNode(ctx context.Context, cs kubernetes.Interface) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("1000"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": FakeNodeName, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "type": "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", FakeNodeName, err)
	}
	return nil
}

// waitNodeReady waits until the fake Node has condition Ready=True, or a
// component exits.
func (w *workloads) waitNodeReady(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, nodeReadyTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		node, err := cs.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
		if err == nil {
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		for _, p := range w.procs {
			select {
			case <-p.exited:
				return fmt.Errorf("%s exited: %v\n%s", p.name, p.waitErr, p.logTail())
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not ready: %w\n%s", FakeNodeName, ctx.Err(), w.procs[len(w.procs)-1].logTail())
		case <-tick.C:
		}
	}
}

// stop stops the components by PID, newest first.
func (w *workloads) stop() error {
	var errs []error
	for i := len(w.procs) - 1; i >= 0; i-- {
		errs = append(errs, w.procs[i].stop())
	}
	return errors.Join(errs...)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
