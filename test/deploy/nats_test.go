package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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

// writeConf puts the shipped nats.conf and an auth.conf for workers into
// a temporary directory and returns the nats.conf path.
func writeConf(t *testing.T, workers []Worker) string {
	t.Helper()
	dir := t.TempDir()
	main, err := os.ReadFile(filepath.Join(natsDir, "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var auth bytes.Buffer
	if err := WriteAuthConf(&auth, workers); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"nats.conf": main, "auth.conf": auth.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "nats.conf")
}

// TestAuthConfIsNatsauth parses a generated users file with nats-server's
// own parser: admin has the password from the environment and no limits,
// and every worker has exactly natsauth.WorkerPermissions, which the
// natsauth tests prove confine it. Re-running keeps the seeds.
func TestAuthConfIsNatsauth(t *testing.T) {
	seeds := t.TempDir()
	clusters := []string{"edge-1", "edge-2"}
	workers, err := WorkerSeeds(seeds, clusters)
	if err != nil {
		t.Fatal(err)
	}
	again, err := WorkerSeeds(seeds, []string{"edge-2", "edge-1", "edge-3"})
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != workers[1] || again[1] != workers[0] || again[2].PublicKey == workers[0].PublicKey {
		t.Fatalf("second run changed or reused keys: %v then %v", workers, again)
	}
	if fi, err := os.Stat(filepath.Join(seeds, "edge-1.nk")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file: %v, %v; want mode 0600", fi, err)
	}
	if _, err := WorkerSeeds(seeds, []string{"Edge_1"}); err == nil {
		t.Fatal("a cluster name that is no DNS label was accepted")
	}

	t.Setenv(AdminPasswordEnv, "s3cret-from-env")
	opts, err := server.ProcessConfigFile(writeConf(t, workers))
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Users) != 1 || opts.Users[0].Username != natsauth.AdminName ||
		opts.Users[0].Password != "s3cret-from-env" || opts.Users[0].Permissions != nil {
		t.Fatalf("users %+v: want only admin, unrestricted, password from $%s", opts.Users, AdminPasswordEnv)
	}
	if len(opts.Nkeys) != len(workers) {
		t.Fatalf("%d nkey users, want %d", len(opts.Nkeys), len(workers))
	}
	for _, w := range workers {
		i := -1
		for j, nk := range opts.Nkeys {
			if nk.Nkey == w.PublicKey {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("no nkey user for worker %s", w.Cluster)
		}
		if got, want := opts.Nkeys[i].Permissions, natsauth.WorkerPermissions(w.Cluster); !reflect.DeepEqual(got, want) {
			t.Errorf("worker %s permissions from the config:\n%+v\nwant natsauth.WorkerPermissions:\n%+v", w.Cluster, got, want)
		}
	}
}

var workerEntry = regexp.MustCompile(`# worker-(\S+)\n\s*\{\n\s*nkey: "(U[A-Z0-9]+)"`)

// TestShippedAuthConfIsGenerated fails when deploy/kubernetes/nats/auth.conf
// was edited by hand or natsauth's permissions changed since it was
// generated: regenerate it with ferry-nats-users.
func TestShippedAuthConfIsGenerated(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(natsDir, "auth.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var workers []Worker
	for _, m := range workerEntry.FindAllStringSubmatch(string(shipped), -1) {
		workers = append(workers, Worker{Cluster: m[1], PublicKey: m[2]})
	}
	var want bytes.Buffer
	if err := WriteAuthConf(&want, workers); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, want.Bytes()) {
		t.Fatalf("deploy/kubernetes/nats/auth.conf is not what ferry-nats-users writes for its workers %v; regenerate it", workers)
	}
}

// TestNATSConfigServes runs nats-server on the shipped nats.conf (port,
// store and monitoring moved to the test's own) and connects the way the
// manifests do: the central services with the admin password in NATS_URL
// set up the streams, a wrong password is refused, and a remote worker
// connecting with its seed file (--nats-nkey-seed) reaches its own
// cluster's stream info and not the push stream.
func TestNATSConfigServes(t *testing.T) {
	seeds := t.TempDir()
	workers, err := WorkerSeeds(seeds, []string{"edge-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(AdminPasswordEnv, "pw-"+t.Name())
	confPath := writeConf(t, workers)
	opts, err := server.ProcessConfigFile(confPath)
	if err != nil {
		t.Fatal(err)
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
	addr := srv.Addr().String()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	admin := fmt.Sprintf("nats://admin:%s@%s", os.Getenv(AdminPasswordEnv), addr)
	nc, js, err := natsconn.Connect(ctx, "deploy-test-admin", natsconn.Options{URL: admin})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := stream.Ensure(ctx, js, stream.DefaultOptions()); err != nil {
		t.Fatalf("admin sets up the streams: %v", err)
	}

	if bad, err := nats.Connect(fmt.Sprintf("nats://admin:wrong@%s", addr)); err == nil {
		bad.Close()
		t.Fatal("a wrong admin password was accepted")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("wrong password: %v, want an authorization violation", err)
	}
	if anon, err := nats.Connect("nats://" + addr); err == nil {
		anon.Close()
		t.Fatal("a client without credentials was accepted")
	}

	desired, git, err := workerStreams(ctx, "nats://"+addr, filepath.Join(seeds, "edge-1.nk"), "edge-1")
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
	extra, err := natsconn.NkeySeed(seedFile, subject.WorkerInboxPrefix(cluster))
	if err != nil {
		return nil, nil, err
	}
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}) // the expected denial
	nc, js, err := natsconn.Connect(ctx, "deploy-test-worker", natsconn.Options{URL: url}, append(extra, quiet)...)
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
