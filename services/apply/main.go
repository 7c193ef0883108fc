// Command apply is Ferry's apply worker for one cluster: it pulls the
// cluster's desired state from NATS JetStream, applies it with server-side
// apply and reports every sync. It only dials out (to NATS and its own
// API server), so it can run inside the cluster it manages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/process"
	"github.com/ferrycd/ferry/pkg/subject"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/apply/worker"
)

// options are the command's flags.
type options struct {
	log        logging.Options
	nats       natsconn.Options
	worker     worker.Options
	kubeconfig string
	// gcPercent is the collector's GOGC (memory.go).
	gcPercent int
	// debug holds --pprof-addr in a build with -tags pprof (pprof.go).
	debug debugOptions
}

func main() {
	var o options
	fs := flag.NewFlagSet("apply", flag.ExitOnError)
	o.log.BindFlags(fs)
	o.nats.BindFlags(fs)
	o.worker.BindFlags(fs)
	fs.StringVar(&o.worker.Cluster, "cluster", os.Getenv("FERRY_CLUSTER"), "name of the cluster this worker applies to (DNS-1123 label, required)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file(s); empty means in-cluster config")
	fs.IntVar(&o.gcPercent, "gc-percent", gcPercentDefault(), "garbage collector target percentage (GOGC): heap growth over the live heap before a collection; lower holds less memory at rest for more collection work")
	o.debug.bindDebugFlags(fs)
	_ = fs.Parse(os.Args[1:])

	log := logging.Stderr(o.log)
	// controller-runtime's client (used through fluxcd/pkg/ssa) logs via logr.
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	if err := checkCluster(o.worker.Cluster); err != nil {
		log.Error("bad flags", "error", err)
		os.Exit(2)
	}
	if err := setGCPercent(o.gcPercent); err != nil {
		log.Error("bad flags", "error", err)
		os.Exit(2)
	}
	process.Run(log, "apply worker stopped", func(ctx context.Context) error { return run(ctx, o) })
}

// run connects to NATS and the cluster and runs the worker until ctx is done.
func run(ctx context.Context, o options) error {
	if err := o.debug.startDebug(ctx); err != nil {
		return err
	}
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	// --nats-nkey-seed is the worker's own identity (pkg/natsauth), which
	// reaches only its cluster's subjects and replies under its cluster's
	// inbox prefix. natsconn, not natsauth: the worker binary need not
	// carry nats-server.
	o.nats.InboxPrefix = subject.WorkerInboxPrefix(o.worker.Cluster)
	nc, js, err := natsconn.Connect(ctx, "ferry-apply-"+o.worker.Cluster, o.nats)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	// Spans go to FERRY_TRACES (ferry trace) and to OTLP when configured;
	// they are flushed before the connection drains.
	// The origin is the one its NATS user may publish spans as.
	shutdown, err := telemetry.Setup(ctx, "ferry-apply", telemetry.NATSSpans(nc, "ferry-apply", subject.WorkerSpanOrigin(o.worker.Cluster)))
	if err != nil {
		return err
	}
	defer func() {
		// Bounded: NATS's flush needs a deadline, and OTLP must not hold up exit.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}()
	// Render's identity sets the streams up; a worker's may not.
	if err := natsconn.WaitForSetup(ctx, js, []string{subject.StreamDesired}, []string{subject.BucketClusters, subject.BucketAppState}); err != nil {
		return fmt.Errorf("set up streams: %w", err)
	}
	return worker.Run(ctx, js, cfg, o.worker)
}

// checkCluster validates the required --cluster flag.
func checkCluster(name string) error {
	if name == "" {
		return errors.New("--cluster is required")
	}
	if err := subject.ValidateName(name); err != nil {
		return fmt.Errorf("--cluster: %w", err)
	}
	return nil
}

// restConfig loads the kubeconfig file(s) in path (a KUBECONFIG-style
// list), or the in-cluster config when path is empty.
func restConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config (set --kubeconfig outside a cluster): %w", err)
		}
		return cfg, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(path)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}
