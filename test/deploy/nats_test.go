package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
)

var natsDir = filepath.Join(root, "deploy", "kubernetes", "nats")

// writeConf puts the shipped nats.conf and an auth.conf for users into
// a temporary directory and returns the nats.conf path.
func writeConf(t *testing.T, users []*natsauth.User) string {
	t.Helper()
	dir := t.TempDir()
	main, err := os.ReadFile(filepath.Join(natsDir, "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var auth bytes.Buffer
	if err := natsauth.WriteAuthConf(&auth, users); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"nats.conf": main, "auth.conf": auth.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "nats.conf")
}

// TestShippedAuthConfIsGenerated fails when deploy/kubernetes/nats/auth.conf
// was edited by hand or natsauth's permissions changed since it was
// generated: regenerate it with ferry-nats-users. It must list every
// central identity and no password user.
func TestShippedAuthConfIsGenerated(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(natsDir, "auth.conf"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := ConfUsers(shipped)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := natsauth.WriteAuthConf(&want, users); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, want.Bytes()) {
		t.Fatalf("deploy/kubernetes/nats/auth.conf is not what ferry-nats-users writes for its users; regenerate it")
	}
	names := map[string]bool{}
	for _, u := range users {
		names[u.Name] = true
	}
	for _, n := range natsauth.Services {
		if !names[n] {
			t.Errorf("the shipped auth.conf lacks the identity %s", n)
		}
	}
	if !names["worker-local"] {
		t.Error("the shipped auth.conf lacks the in-cluster worker, worker-local (kustomization.yaml's cluster)")
	}
	if bytes.Contains(shipped, []byte("password")) {
		t.Error("the shipped auth.conf has a password user")
	}
}

// TestNATSConfigServes runs nats-server on the shipped nats.conf (port,
// store and monitoring moved to the test's own) with a generated users
// file and connects the way the manifests do, each service with its seed
// file (--nats-nkey-seed) and a URL without credentials: render sets up
// the streams, ingest publishes a push but may not create a stream, an
// unknown key and an anonymous client are refused, and a remote worker
// reaches its own cluster's stream info and not the push stream.
func TestNATSConfigServes(t *testing.T) {
	seeds := t.TempDir()
	set, err := natsauth.LoadSeeds(seeds, []string{"edge-1"})
	if err != nil {
		t.Fatal(err)
	}
	confPath := writeConf(t, set.Users())
	opts, err := server.ProcessConfigFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Users) != 0 {
		t.Fatalf("%d password users in the config, want none", len(opts.Users))
	}
	opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir = "127.0.0.1", -1, 0, t.TempDir()
	opts.NoSigs, opts.NoLog = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	if !srv.JetStreamEnabled() {
		t.Fatal("JetStream is not enabled by the shipped config")
	}
	url := "nats://" + srv.Addr().String()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	seed := func(name string) string { return filepath.Join(seeds, natsauth.ServicesSeedDir, name+".nk") }
	nc, js, err := natsconn.Connect(ctx, "deploy-test-render", natsconn.Options{URL: url, NkeySeed: seed(natsauth.Render)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := stream.Ensure(ctx, js, stream.DefaultOptions()); err != nil {
		t.Fatalf("render sets up the streams: %v", err)
	}
	inc, ijs, err := natsconn.Connect(ctx, "deploy-test-ingest", natsconn.Options{URL: url, NkeySeed: seed(natsauth.Ingest)},
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the expected denial
	if err != nil {
		t.Fatal(err)
	}
	defer inc.Close()
	if _, err := ijs.Publish(ctx, subject.GitPush("k"), []byte("{}")); err != nil {
		t.Errorf("ingest publishes a push: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if err := stream.Ensure(short, ijs, stream.DefaultOptions()); err == nil {
		t.Error("ingest set up the streams, want only render allowed")
	}

	stranger, err := natsauth.NewService(natsauth.Ingest)
	if err != nil {
		t.Fatal(err)
	}
	if bad, err := nats.Connect(url, stranger.ConnectOptions()...); err == nil {
		bad.Close()
		t.Fatal("an unknown nkey was accepted")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown nkey: %v, want an authorization violation", err)
	}
	if anon, err := nats.Connect(url); err == nil {
		anon.Close()
		t.Fatal("a client without credentials was accepted")
	}

	desired, git, err := workerStreams(ctx, url, filepath.Join(seeds, "edge-1.nk"), "edge-1")
	if err != nil {
		t.Fatal(err)
	}
	if desired != nil {
		t.Errorf("worker edge-1 reads %s info: %v, want allowed", subject.StreamDesired, desired)
	}
	if git == nil {
		t.Errorf("worker edge-1 read %s info, want denied", subject.StreamGit)
	}
}

// workerStreams connects as a worker through natsconn with its seed file
// and reports which stream infos it may read.
func workerStreams(ctx context.Context, url, seedFile, cluster string) (desired, git error, err error) {
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}) // the expected denial
	nc, js, err := natsconn.Connect(ctx, "deploy-test-worker", natsconn.Options{URL: url, NkeySeed: seedFile, InboxPrefix: subject.WorkerInboxPrefix(cluster)}, quiet)
	if err != nil {
		return nil, nil, err
	}
	defer nc.Close()
	_, desired = js.Stream(ctx, subject.StreamDesired)
	// A denied request is never answered: give it a short while.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, git = js.Stream(short, subject.StreamGit)
	return desired, git, nil
}
