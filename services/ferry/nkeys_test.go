package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
)

// TestNkeysWritesAWorkingUsersFile: `ferry nkeys` writes seeds and an
// auth.conf a nats-server runs on, where render's seed logs in and a
// second run keeps the keys.
func TestNkeysWritesAWorkingUsersFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nkeys")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"nkeys", "--out", dir, "--for-containers", "local"}, strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("ferry nkeys: %v\n%s", err, out.String())
	}
	first, err := os.ReadFile(filepath.Join(dir, "auth.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"nkeys", "--out", dir, "local"}, strings.NewReader(""), &out, &out); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(filepath.Join(dir, "auth.conf")); !bytes.Equal(first, second) {
		t.Error("a second run changed the users file")
	}
	renderSeed := filepath.Join(dir, natsauth.ServicesSeedDir, natsauth.Render+".nk")
	if fi, err := os.Stat(renderSeed); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("--for-containers seed: %v %v, want mode 0644", fi, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("seeds directory: %v %v, want mode 0700", fi, err)
	}

	opts, err := server.ProcessConfigFile(filepath.Join(dir, "auth.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", -1, true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	seedOpts, err := natsconn.NkeySeed(renderSeed, "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), seedOpts...)
	if err != nil {
		t.Fatalf("render's seed logs in: %v", err)
	}
	nc.Close()
}
