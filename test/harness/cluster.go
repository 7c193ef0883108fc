package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/pkg/controlplane"
)

// WithCluster is a pipeline together with the local control plane it
// applies to, in a temporary directory: what a test package's TestMain
// shares between its tests.
type WithCluster struct {
	*Pipeline
	// ControlPlane is the kube-apiserver (and etcd) the worker applies to.
	ControlPlane *controlplane.ControlPlane
	// Kube is a clientset for it.
	Kube kubernetes.Interface
	dir  string
}

// StartWithCluster makes a temporary directory named after prefix, starts
// a control plane in it and then the pipeline against that cluster;
// cfg.Dir and cfg.Rest are set here. Close stops both, the pipeline
// first, and removes the directory.
func StartWithCluster(ctx context.Context, prefix string, cfg Config) (_ *WithCluster, err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	w := &WithCluster{dir: dir}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.ControlPlane, err = controlplane.Start(ctx, controlplane.Options{Dir: filepath.Join(dir, "cluster"), Progress: os.Stderr}); err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	if w.Kube, err = kubernetes.NewForConfig(w.ControlPlane.RESTConfig()); err != nil {
		return nil, fmt.Errorf("kube client: %w", err)
	}
	cfg.Dir, cfg.Rest = dir, w.ControlPlane.RESTConfig()
	if w.Pipeline, err = Start(ctx, cfg); err != nil {
		return nil, fmt.Errorf("start pipeline: %w", err)
	}
	return w, nil
}

// Close stops the pipeline, then the control plane (kube-apiserver before
// etcd), and removes the directory.
func (w *WithCluster) Close() {
	if w.Pipeline != nil {
		w.Pipeline.Close()
	}
	if w.ControlPlane != nil {
		_ = w.ControlPlane.Stop()
	}
	_ = os.RemoveAll(w.dir)
}
