// Package deploy checks deploy/: the Kubernetes manifests build with
// kustomize, every object is accepted by a real kube-apiserver (server-side
// dry run) and every container runs locked down; and the NATS users file
// (deploy/kubernetes/nats/auth.conf) is what pkg/natsauth generates, so
// the central NATS gives each identity exactly the permissions the
// natsauth tests prove.
package deploy

import (
	"fmt"
	"regexp"

	"github.com/ferrycd/ferry/pkg/natsauth"
)

// userEntry is one user of a generated auth.conf: its name comment and key.
var userEntry = regexp.MustCompile(`# (\S+)\n\s*\{\n\s*nkey: "(U[A-Z0-9]+)"`)

// ConfUsers returns the users an auth.conf lists, by name and public key,
// each with the permissions natsauth gives that name today.
func ConfUsers(conf []byte) ([]*natsauth.User, error) {
	var out []*natsauth.User
	for _, m := range userEntry.FindAllSubmatch(conf, -1) {
		u, err := natsauth.PublicUser(string(m[1]), string(m[2]))
		if err != nil {
			return nil, fmt.Errorf("auth.conf: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}
