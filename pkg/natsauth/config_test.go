package natsauth

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// TestAuthConfRoundTrips: nats-server's own parser reads WriteAuthConf's
// output back to exactly each user's permissions, and seeds are kept
// across runs.
func TestAuthConfRoundTrips(t *testing.T) {
	dir := t.TempDir()
	set, err := LoadSeeds(dir, []string{"edge-1", "local"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadSeeds(dir, []string{"local", "edge-1", "edge-2"})
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range set.Services {
		if again.Services[name].PublicKey != u.PublicKey {
			t.Errorf("%s: a second run made a new key", name)
		}
	}
	if again.Workers["edge-1"].PublicKey != set.Workers["edge-1"].PublicKey || again.Workers["edge-2"] == nil {
		t.Error("a second run changed a worker's key or did not add edge-2's")
	}
	if fi, err := os.Stat(filepath.Join(dir, ServicesSeedDir, Render+".nk")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("render's seed file: %v, %v; want mode 0600", fi, err)
	}
	if _, err := LoadSeeds(dir, []string{"Edge_1"}); err == nil {
		t.Error("a cluster name that is no DNS label was accepted")
	}

	var conf bytes.Buffer
	if err := WriteAuthConf(&conf, again.Users()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "auth.conf")
	if err := os.WriteFile(path, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server rejects the config: %v\n%s", err, conf.String())
	}
	if len(opts.Users) != 0 || len(opts.Nkeys) != len(again.Users()) {
		t.Fatalf("%d password users and %d nkeys, want none and %d", len(opts.Users), len(opts.Nkeys), len(again.Users()))
	}
	for _, u := range again.Users() {
		var got *server.NkeyUser
		for _, nk := range opts.Nkeys {
			if nk.Nkey == u.PublicKey {
				got = nk
			}
		}
		if got == nil {
			t.Errorf("no nkey user for %s", u.Name)
			continue
		}
		if !reflect.DeepEqual(got.Permissions, u.Permissions) {
			t.Errorf("%s permissions from the config:\n%+v\nwant:\n%+v", u.Name, got.Permissions, u.Permissions)
		}
		pu, err := PublicUser(u.Name, u.PublicKey)
		if err != nil || !reflect.DeepEqual(pu.Permissions, u.Permissions) {
			t.Errorf("PublicUser(%s): %v", u.Name, err)
		}
	}
}
