package natsauth

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/ferrycd/ferry/pkg/subject"
)

// ServicesSeedDir is the subdirectory of a seeds directory holding the
// central identities' seeds, <name>.nk; a worker's is <cluster>.nk in the
// directory itself (a cluster named like a central identity cannot clash).
const ServicesSeedDir = "services"

// LoadSeeds returns the set of the central identities and a worker per
// cluster with the seeds in dir, creating each missing one (mode 0600,
// directories 0700). Running it again with one more cluster keeps the
// existing keys.
func LoadSeeds(dir string, clusters []string) (*Set, error) {
	if err := os.MkdirAll(filepath.Join(dir, ServicesSeedDir), 0o700); err != nil {
		return nil, fmt.Errorf("seed dir: %w", err)
	}
	s := &Set{Services: map[string]*User{}, Workers: map[string]*User{}}
	for _, name := range Services {
		kp, err := loadOrCreate(filepath.Join(dir, ServicesSeedDir, name+".nk"))
		if err != nil {
			return nil, err
		}
		if s.Services[name], err = ServiceFromKey(name, kp); err != nil {
			return nil, err
		}
	}
	for _, c := range clusters {
		if err := subject.ValidateName(c); err != nil {
			return nil, fmt.Errorf("cluster %q: %w", c, err)
		}
		if _, dup := s.Workers[c]; dup {
			return nil, fmt.Errorf("cluster %q listed twice", c)
		}
		kp, err := loadOrCreate(filepath.Join(dir, c+".nk"))
		if err != nil {
			return nil, err
		}
		if s.Workers[c], err = WorkerFromKey(c, kp); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// loadOrCreate reads the user seed in path, creating it if missing.
func loadOrCreate(path string) (nkeys.KeyPair, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, cerr := nkeys.CreateUser()
		if cerr != nil {
			return nil, fmt.Errorf("create nkey: %w", cerr)
		}
		if seed, cerr = kp.Seed(); cerr != nil {
			return nil, fmt.Errorf("create nkey: %w", cerr)
		}
		if cerr = os.WriteFile(path, append(seed, '\n'), 0o600); cerr != nil {
			return nil, fmt.Errorf("write seed: %w", cerr)
		}
		return kp, nil
	} else if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	if !strings.HasPrefix(pub, "U") {
		return nil, fmt.Errorf("seed %s is not a user nkey", path)
	}
	return kp, nil
}

// PublicUser is the user name (a central identity, or "worker-<cluster>")
// with only its public key, as an auth config lists it: enough for
// WriteAuthConf, not to connect.
func PublicUser(name, publicKey string) (*User, error) {
	if !strings.HasPrefix(publicKey, "U") || !nkeys.IsValidPublicUserKey(publicKey) {
		return nil, fmt.Errorf("%s: %q is not a user public key", name, publicKey)
	}
	if c, ok := strings.CutPrefix(name, "worker-"); ok {
		if err := subject.ValidateName(c); err != nil {
			return nil, fmt.Errorf("worker user: %w", err)
		}
		return &User{Name: name, Cluster: c, PublicKey: publicKey, Permissions: WorkerPermissions(c)}, nil
	}
	perms, err := ServicePermissions(name, publicKey)
	if err != nil {
		return nil, err
	}
	return &User{Name: name, PublicKey: publicKey, Permissions: perms}, nil
}

// WriteAuthConf writes the nats-server authorization block of users: each
// an nkey with its permissions, preceded by a "# <name>" line. Subjects
// are quoted, so "$JS.API..." is never read as a variable reference.
func WriteAuthConf(w io.Writer, users []*User) error {
	var b strings.Builder
	b.WriteString(`# NATS users (pkg/natsauth), generated: never edit, regenerate
# (deploy/README.md "NATS identities"):
#
#   go run ./test/deploy/cmd/ferry-nats-users -seeds ~/.config/ferry/nkeys <cluster>... > deploy/kubernetes/nats/auth.conf
#
# Only public keys: the seeds stay in the seeds directory and in Secrets.
# ingest, render, drift, operator-read and operator are the central
# identities, each worker-<cluster> an apply worker's; pkg/natsauth's
# documentation explains every subject.
authorization {
  users: [
`)
	for _, u := range users {
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: %q\n      permissions: {\n", u.Name, u.PublicKey)
		writeSubjects(&b, "publish", u.Permissions.Publish)
		writeSubjects(&b, "subscribe", u.Permissions.Subscribe)
		if p := u.Permissions.Response; p != nil {
			fmt.Fprintf(&b, "        allow_responses: {max: %d, expires: %q}\n", p.MaxMsgs, p.Expires.String())
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSubjects writes one permission direction.
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
