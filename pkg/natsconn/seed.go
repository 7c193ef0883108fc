package natsconn

import (
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ferrycd/ferry/pkg/subject"
)

// NkeySeed returns the options that connect with the nkey seed in path
// (pkg/natsauth writes them) and use inboxPrefix for reply subjects, as
// the identity's restricted permissions require: a worker passes its
// cluster's (subject.WorkerInboxPrefix); empty means the prefix of the
// seed's public key (subject.IdentityInboxPrefix), a central identity's.
func NkeySeed(path, inboxPrefix string) ([]nats.Option, error) {
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("nkey seed %s: %w", path, err)
	}
	if inboxPrefix == "" {
		pub, err := seedPublicKey(path)
		if err != nil {
			return nil, err
		}
		inboxPrefix = subject.IdentityInboxPrefix(pub)
	}
	return []nats.Option{opt, nats.CustomInboxPrefix(inboxPrefix)}, nil
}

// seedPublicKey is the public key of the user seed in path.
func seedPublicKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(data))))
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	return pub, nil
}
