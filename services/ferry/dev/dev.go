package dev

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/apply/worker"
	"github.com/ferrycd/ferry/services/drift/alerter"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/ferry/allinone"
	"github.com/ferrycd/ferry/services/ingest/webhook"
	"github.com/ferrycd/ferry/services/render/renderer"
)

// Run starts everything, deploys the sample app, prints how to trigger a
// deploy, and runs until ctx is done; then it stops everything in reverse.
func Run(ctx context.Context, o Options) (err error) {
	// Every path derived from Dir is used by other processes too (the git
	// hook runs in the bare repository, git http-backend in git's own
	// directory), so none may be relative.
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	// Streams and the local cluster start fresh each time; the sample
	// repository (and the user's commits in it) is kept.
	for _, d := range []string{"nats", "cluster"} {
		if err := os.RemoveAll(o.path(d)); err != nil {
			return fmt.Errorf("reset %s: %w", d, err)
		}
	}
	log := logging.From(ctx)
	driftCfg, err := config.Load(o.DriftConfig)
	if err != nil {
		return fmt.Errorf("drift config: %w", err)
	}

	// As in production, every service has its own NATS identity
	// (pkg/natsauth): ingest, render (which sets up the streams), drift,
	// the apply worker (its cluster's subjects only), and the dashboard
	// and the CLI as the operator. No identity may do everything.
	users, err := natsauth.NewSet(o.Cluster)
	if err != nil {
		return err
	}
	if err := users.Services[natsauth.Operator].WriteSeedFile(o.path(operatorSeed)); err != nil {
		return err
	}
	ns, err := natsauth.Start(natsserver.Options{Port: o.NATSPort, StoreDir: o.path("nats"), Name: "ferry-dev"}, users)
	if err != nil {
		return fmt.Errorf("start embedded nats (is port %d free? try --nats-port -1): %w", o.NATSPort, err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	conns, err := connectAll(ctx, ns.ClientURL(), users, o.Cluster)
	if err != nil {
		return err
	}
	defer conns.close()
	// Every service's spans go to FERRY_TRACES, for ferry trace: one
	// exporter serves the whole process, on render's connection and
	// under the origin render's identity may publish.
	stopSpans, err := telemetry.Setup(ctx, "ferry-dev", telemetry.NATSSpans(conns.nc[natsauth.Render], "ferry-dev", natsauth.SpanOrigin(natsauth.Render)))
	if err != nil {
		return err
	}
	defer func() { _ = stopSpans(context.WithoutCancel(ctx)) }()
	if err := stream.Ensure(ctx, conns.js[natsauth.Render], stream.DefaultOptions()); err != nil {
		return fmt.Errorf("set up streams: %w", err)
	}
	js := conns.js[natsauth.Operator]

	restCfg, kubeconfig, stopCluster, err := cluster(ctx, o)
	if err != nil {
		return err
	}
	defer stopCluster()

	git, err := gitserver.Start(o.path("git"))
	if err != nil {
		return fmt.Errorf("start git server: %w", err)
	}
	defer func() { _ = git.Close() }()

	secretFile := o.path("webhook-secret")
	secret, err := ensureSecret(secretFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.IngestAddr)
	if err != nil {
		return fmt.Errorf("listen for webhooks on %s (use --ingest-addr): %w", o.IngestAddr, err)
	}
	hookURL := "http://" + ln.Addr().String() + "/webhooks/github"
	repo, err := ensureSampleRepo(ctx, o, git, hookURL, secretFile)
	if err != nil {
		_ = ln.Close()
		return err
	}

	ingestOpts := webhook.DefaultOptions()
	ingestOpts.GitHubSecret, ingestOpts.GiteaSecret, ingestOpts.GitLabToken = secret, secret, secret
	pipe, err := allinone.Start(ctx, conns.js[natsauth.Render], allinone.Config{
		Listener: ln, Ingest: ingestOpts, Rest: restCfg,
		Render:   renderer.Options{CacheDir: o.path("render-cache"), PlatformRepos: []string{repo.URL}},
		Worker:   worker.Options{Cluster: o.Cluster},
		IngestJS: conns.js[natsauth.Ingest], RenderJS: conns.js[natsauth.Render],
		DriftJS: conns.js[natsauth.Drift], WorkerJS: conns.js[workerConn],
		Drift: alerter.Options{Config: driftCfg},
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	stopFollowing, err := followStatus(ctx, js, o.Out)
	if err != nil {
		return errors.Join(err, pipe.Stop())
	}
	defer stopFollowing()
	dash, err := startDashboard(ctx, o, conns.nc[natsauth.Operator])
	if err != nil {
		return errors.Join(err, pipe.Stop())
	}
	defer func() { err = errors.Join(err, dash.Stop()) }()

	banner(o, ns.ClientURL(), hookURL, kubeconfig, repo, dash)
	if err := initialDeploy(ctx, repo, hookURL, secret); err != nil {
		log.Error("initial deploy", "error", err)
	}
	select {
	case <-ctx.Done():
	case <-pipe.Failed():
	}
	err = pipe.Stop()
	fmt.Fprintln(o.Out, "ferry dev: stopped")
	return err
}

// cluster returns the REST config of the kubeconfig given, or starts a
// local control plane.
func cluster(ctx context.Context, o Options) (*rest.Config, string, func(), error) {
	if o.Kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
		if err != nil {
			return nil, "", nil, fmt.Errorf("load kubeconfig %s: %w", o.Kubeconfig, err)
		}
		return cfg, o.Kubeconfig, func() {}, nil
	}
	what := "etcd + kube-apiserver"
	if o.Workloads {
		what += " + controllers, scheduler and kwok fake nodes"
	}
	fmt.Fprintf(o.Out, "ferry dev: starting a local control plane (%s)...\n", what)
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: o.path("cluster"), Progress: o.Out, Log: logging.From(ctx), Workloads: o.Workloads})
	if err != nil {
		return nil, "", nil, fmt.Errorf("start local control plane: %w", err)
	}
	return cp.RESTConfig(), cp.Kubeconfig(), func() { _ = cp.Stop() }, nil
}

// initialDeploy delivers the repository's current head: by pushing it
// (the hook sends the webhook) on first run, by a webhook on later runs.
func initialDeploy(ctx context.Context, repo *gitserver.Repo, hookURL, secret string) error {
	head, err := repo.Head(ctx)
	if err != nil {
		return err
	}
	if err := repo.Push(ctx); err != nil {
		return fmt.Errorf("push sample repository: %w", err)
	}
	// A push of an unchanged branch fires no hook: tell ingest directly.
	client := &http.Client{Timeout: 10 * time.Second}
	return pushhook.Send(ctx, client, pushhook.GitHub, hookURL, secret, pushhook.Push{
		CloneURL: repo.URL, Ref: "refs/heads/" + repo.Branch, Before: pushhook.ZeroSHA, After: head,
		Pusher: "ferry-dev", DeliveryID: "ferry-dev-start-" + head,
	})
}
