// Package dev runs the whole of Ferry in one process for the quickstart:
// an embedded NATS server, ingest, render, an apply worker, the drift
// service, a local control plane when no kubeconfig is given, and a sample
// Git repository whose pushes reach ingest through a post-receive hook.
package dev

import (
	"flag"
	"io"
	"os"
	"path/filepath"
)

// Options configures ferry dev.
type Options struct {
	// Dir holds state: the NATS store, the git server's repositories, the
	// working clone and the control plane's data.
	Dir string
	// Kubeconfig of an existing cluster; empty starts a local control plane.
	Kubeconfig string
	// Cluster is the name the apply worker serves.
	Cluster string
	// IngestAddr is where webhooks are received.
	IngestAddr string
	// NATSPort for the embedded server; -1 picks a free one.
	NATSPort int
	// Workloads runs kube-controller-manager, kube-scheduler and kwok in
	// the local control plane, so pods become Ready and health is real.
	Workloads bool
	// DashboardAddr is where the web dashboard listens.
	DashboardAddr string
	// OperatorToken lets the dashboard's operator log in; empty uses one
	// generated once in Dir.
	OperatorToken string
	// DriftConfig is the drift service's alert routing and commit status
	// file; empty logs alerts only.
	DriftConfig string
	// Out receives the human-readable banner and deploy lines.
	Out io.Writer
}

// DefaultOptions returns ferry dev's defaults: state in ./.ferry-dev.
func DefaultOptions() Options {
	return Options{Dir: ".ferry-dev", Cluster: "local", IngestAddr: "127.0.0.1:8080", DashboardAddr: "127.0.0.1:8090", NATSPort: 4222, Workloads: true, Out: os.Stdout}
}

// BindFlags registers ferry dev's flags.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Dir, "dir", o.Dir, "state directory (NATS store, git repositories, local cluster)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig of an existing cluster; empty starts a local kube-apiserver + etcd")
	fs.StringVar(&o.Cluster, "cluster", o.Cluster, "cluster name served by the in-process apply worker")
	fs.StringVar(&o.IngestAddr, "ingest-addr", o.IngestAddr, "webhook listen address")
	fs.StringVar(&o.DashboardAddr, "dashboard-addr", o.DashboardAddr, "web dashboard listen address")
	fs.StringVar(&o.OperatorToken, "operator-token", o.OperatorToken, "operator token for the dashboard's sync and rollback buttons; empty generates one, kept in <dir>/operator-token")
	fs.BoolVar(&o.Workloads, "workloads", o.Workloads, "run controllers, a scheduler and kwok fake nodes in the local cluster so pods become Ready (first run builds them)")
	fs.IntVar(&o.NATSPort, "nats-port", o.NATSPort, "embedded NATS port (-1 for any free port)")
	fs.StringVar(&o.DriftConfig, "drift-config", o.DriftConfig, "alert routing (Slack) and commit status config, see services/drift/drift.example.yaml")
}

func (o Options) path(elem ...string) string {
	return filepath.Join(append([]string{o.Dir}, elem...)...)
}
