// Package controlplane starts a local Kubernetes control plane for tests,
// benchmarks and the `ferry dev` quickstart: an embedded etcd in this process
// and a real kube-apiserver child process, both on free 127.0.0.1 ports, with
// an admin kubeconfig written to a working directory.
//
// The kube-apiserver binary is built once from the Go module proxy (see
// EnsureAPIServer) and cached; later starts take a few seconds.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// KubernetesVersion is the version of the kube-apiserver that Start runs.
const KubernetesVersion = "v1.37.1"

// Options configures Start. The zero value is usable.
type Options struct {
	// CacheDir is where the kube-apiserver binary is built and cached.
	// Default: os.UserCacheDir()/ferry.
	CacheDir string
	// Dir is the working directory for etcd data, certificates, logs and
	// the kubeconfig. Default: a new os.MkdirTemp directory, removed by Stop.
	Dir string
	// Progress receives human progress lines while the kube-apiserver binary
	// is built on first run. Nil means silent.
	Progress io.Writer
	// Log receives debug and info records about the control plane's
	// lifecycle. Nil discards them.
	Log *slog.Logger
	// Workloads also runs kube-controller-manager, kube-scheduler and kwok
	// with one fake Node, so that Deployments get ReplicaSets and Pods and
	// the Pods become Ready without a kubelet. Builds the two binaries and
	// installs kwok into CacheDir on first use.
	Workloads bool
}

// ControlPlane is a running etcd and kube-apiserver pair. Stop it when done.
type ControlPlane struct {
	dir        string
	removeDir  bool
	kubeconfig string
	restConfig *rest.Config
	log        *slog.Logger

	etcd      *etcdServer
	apiserver *apiServer
	workloads *workloads

	stopOnce sync.Once
	stopErr  error
}

// Start builds (or reuses) the kube-apiserver binary, starts an embedded etcd
// and a kube-apiserver, waits until the API is ready and the "default"
// namespace exists, and writes an admin kubeconfig. ctx bounds start-up only;
// cancelling it later does not stop the control plane.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		opts.CacheDir, err = DefaultCacheDir()
		if err != nil {
			return nil, err
		}
	}
	binary, err := EnsureAPIServer(ctx, opts.CacheDir, opts.Progress)
	if err != nil {
		return nil, err
	}
	var tools *workloadBinaries
	if opts.Workloads {
		if tools, err = ensureWorkloadBinaries(ctx, opts.CacheDir, opts.Progress); err != nil {
			return nil, err
		}
	}

	c := &ControlPlane{dir: opts.Dir, log: log}
	if c.dir == "" {
		c.dir, err = os.MkdirTemp("", "ferry-controlplane-")
		if err != nil {
			return nil, fmt.Errorf("create control plane dir: %w", err)
		}
		c.removeDir = true
	} else if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create control plane dir: %w", err)
	}
	c.dir, err = filepath.Abs(c.dir)
	if err != nil {
		return nil, fmt.Errorf("resolve control plane dir: %w", err)
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()

	began := time.Now()
	c.etcd, err = startEtcd(ctx, filepath.Join(c.dir, "etcd"), filepath.Join(c.dir, "etcd.log"))
	if err != nil {
		return nil, err
	}
	log.Debug("etcd ready", "endpoint", c.etcd.endpoint, "elapsed", time.Since(began))

	c.apiserver, err = startAPIServer(ctx, binary, c.dir, c.etcd.endpoint, log)
	if err != nil {
		return nil, err
	}
	c.restConfig = c.apiserver.restConfig()
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	if err := writeKubeconfig(c.kubeconfig, c.restConfig); err != nil {
		return nil, err
	}
	if err := waitForDefaultNamespace(ctx, c.restConfig); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, c.apiserver.logTail())
	}
	if tools != nil {
		if c.workloads, err = startWorkloads(ctx, tools, c.dir, c.kubeconfig, c.restConfig, c.apiserver.creds, log); err != nil {
			return nil, err
		}
	}
	log.Info("control plane ready", "host", c.restConfig.Host, "kubeconfig", c.kubeconfig,
		"pid", c.apiserver.pid(), "elapsed", time.Since(began))
	return c, nil
}

// Kubeconfig returns the path of the admin kubeconfig file.
func (c *ControlPlane) Kubeconfig() string { return c.kubeconfig }

// RESTConfig returns a fresh copy of the admin client configuration; callers
// may modify it.
func (c *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Dir returns the working directory holding etcd data, certificates, logs
// and the kubeconfig.
func (c *ControlPlane) Dir() string { return c.dir }

// APIServerPID returns the process id of the kube-apiserver child, for
// example to measure its memory.
func (c *ControlPlane) APIServerPID() int { return c.apiserver.pid() }

// StopAPIServer stops the kube-apiserver (by its PID), leaving etcd and
// any other component running, to simulate an API server outage.
func (c *ControlPlane) StopAPIServer() error {
	if err := c.apiserver.stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	return nil
}

// StartAPIServer starts the kube-apiserver again after StopAPIServer, on
// the same address, credentials and etcd, and waits until it is ready.
// It does nothing while the API server runs.
func (c *ControlPlane) StartAPIServer(ctx context.Context) error {
	select {
	case <-c.apiserver.exited:
	default:
		return nil
	}
	if err := c.apiserver.run(ctx, c.log); err != nil {
		return fmt.Errorf("restart kube-apiserver: %w", err)
	}
	return nil
}

// Stop stops kwok, kube-scheduler and kube-controller-manager if they run,
// then the kube-apiserver, each by its PID (SIGTERM, then SIGKILL after a
// grace period), then closes etcd, and removes the working directory if
// Start created it. It is safe to call more than once.
func (c *ControlPlane) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.workloads != nil {
			errs = append(errs, c.workloads.stop())
		}
		if c.apiserver != nil {
			errs = append(errs, c.apiserver.stop())
		}
		if c.etcd != nil {
			c.etcd.close()
		}
		if c.removeDir {
			errs = append(errs, os.RemoveAll(c.dir))
		}
		c.stopErr = errors.Join(errs...)
		if c.stopErr != nil {
			c.stopErr = fmt.Errorf("stop control plane: %w", c.stopErr)
		}
		c.log.Debug("control plane stopped", "err", c.stopErr)
	})
	return c.stopErr
}

// DefaultCacheDir returns os.UserCacheDir()/ferry, the default
// Options.CacheDir.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache dir: %w", err)
	}
	return filepath.Join(dir, "ferry"), nil
}
