// Package deploy checks deploy/: the Kubernetes manifests build with
// kustomize, every object is accepted by a real kube-apiserver (server-side
// dry run) and every container runs locked down; and it writes the NATS
// users file (deploy/kubernetes/nats/auth.conf) from pkg/natsauth, so the
// central NATS gives each remote worker exactly the permissions the
// natsauth tests prove.
package deploy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/subject"
)

// AdminPasswordEnv is the environment variable nats-server reads the admin
// password from (the Secret ferry-nats-admin in Kubernetes).
const AdminPasswordEnv = "FERRY_NATS_ADMIN_PASSWORD"

// Worker is a remote apply worker's NATS user: its cluster and nkey.
type Worker struct {
	Cluster   string
	PublicKey string
}

// WorkerSeeds returns a Worker for each cluster, reading its nkey seed
// from dir/<cluster>.nk or, when that file does not exist, creating a new
// one there (mode 0600, dir 0700). Running it again with one more cluster
// keeps the existing keys.
func WorkerSeeds(dir string, clusters []string) ([]Worker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seed dir: %w", err)
	}
	var out []Worker
	seen := map[string]bool{}
	for _, c := range clusters {
		if err := subject.ValidateName(c); err != nil {
			return nil, fmt.Errorf("cluster %q: %w", c, err)
		}
		if seen[c] {
			return nil, fmt.Errorf("cluster %q listed twice", c)
		}
		seen[c] = true
		pub, err := seedPublicKey(filepath.Join(dir, c+".nk"))
		if err != nil {
			return nil, err
		}
		out = append(out, Worker{Cluster: c, PublicKey: pub})
	}
	return out, nil
}

// seedPublicKey reads the user seed in path, creating it if missing, and
// returns its public key.
func seedPublicKey(path string) (string, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, cerr := nkeys.CreateUser()
		if cerr != nil {
			return "", fmt.Errorf("create nkey: %w", cerr)
		}
		if seed, cerr = kp.Seed(); cerr != nil {
			return "", fmt.Errorf("create nkey: %w", cerr)
		}
		if cerr = os.WriteFile(path, append(seed, '\n'), 0o600); cerr != nil {
			return "", fmt.Errorf("write seed: %w", cerr)
		}
	} else if err != nil {
		return "", fmt.Errorf("read seed: %w", err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		return "", fmt.Errorf("seed %s: %w", path, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("seed %s: %w", path, err)
	}
	if !strings.HasPrefix(pub, "U") {
		return "", fmt.Errorf("seed %s is not a user nkey", path)
	}
	return pub, nil
}

// WriteAuthConf writes the nats-server authorization block: the admin
// user with its password from $FERRY_NATS_ADMIN_PASSWORD, allowed
// everything, and each worker with natsauth.WorkerPermissions.
func WriteAuthConf(w io.Writer, workers []Worker) error {
	var b strings.Builder
	b.WriteString(`# NATS users (pkg/natsauth). Regenerate, never edit, when a remote cluster
# is added:
#
#   go run ./test/deploy/cmd/ferry-nats-users -seeds ~/.config/ferry/nkeys <cluster>... > deploy/kubernetes/nats/auth.conf
#
# admin is the central services' user (ingest, render, drift, the
# dashboard and the in-cluster worker), allowed everything; its password
# comes from the environment (Secret ferry-nats-admin). Each worker-<cluster>
# may reach only its own cluster's subjects (pkg/natsauth's doc comment).
authorization {
  users: [
    {user: "admin", password: $` + AdminPasswordEnv + `}
`)
	ws := append([]Worker(nil), workers...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Cluster < ws[j].Cluster })
	for _, wk := range ws {
		p := natsauth.WorkerPermissions(wk.Cluster)
		fmt.Fprintf(&b, "    # worker-%s\n    {\n      nkey: %q\n      permissions: {\n", wk.Cluster, wk.PublicKey)
		writeSubjects(&b, "publish", p.Publish)
		writeSubjects(&b, "subscribe", p.Subscribe)
		if p.Response != nil {
			fmt.Fprintf(&b, "        allow_responses: {max: %d, expires: %q}\n", p.Response.MaxMsgs, p.Response.Expires.String())
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSubjects writes one permission direction; subjects are quoted, so
// "$JS.API..." is never read as a variable reference.
func writeSubjects(b *strings.Builder, name string, sp *server.SubjectPermission) {
	if sp == nil {
		return
	}
	fmt.Fprintf(b, "        %s: {\n", name)
	for _, l := range []struct {
		key  string
		subs []string
	}{{"allow", sp.Allow}, {"deny", sp.Deny}} {
		if len(l.subs) == 0 {
			continue
		}
		fmt.Fprintf(b, "          %s: [\n", l.key)
		for _, s := range l.subs {
			b.WriteString("            " + strconv.Quote(s) + "\n")
		}
		b.WriteString("          ]\n")
	}
	b.WriteString("        }\n")
}
