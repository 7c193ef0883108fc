// Package natsconn connects a Ferry service to NATS with the options every
// service shares: URL and identity from flags or the environment,
// reconnecting forever, and logging of connection state changes, of
// authorization failures and of permission violations, naming the
// identity and what to check. A URL is never printed with its password
// (RedactURL), and conflicting credentials are an error, not a choice.
package natsconn

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
)

// Options says where and as whom to connect.
type Options struct {
	// URL of the NATS server(s), comma separated. It should carry no
	// user or password: use NkeySeed.
	URL string
	// CredsFile is a NATS .creds file (JWT and seed); optional.
	CredsFile string
	// NkeySeed is a file holding the nkey seed of the service's identity
	// (pkg/natsauth); optional.
	NkeySeed string
	// InboxPrefix overrides the reply subject prefix a seed's identity
	// uses (an apply worker's is its cluster's); empty derives it from
	// the seed's public key, as pkg/natsauth's permissions expect.
	InboxPrefix string
}

// BindFlags registers --nats-url, --nats-creds and --nats-nkey-seed,
// defaulting to NATS_URL, NATS_CREDS and FERRY_NATS_NKEY_SEED from the
// environment.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "nats-url", envOr("NATS_URL", nats.DefaultURL), "NATS server URL(s), comma separated, without user or password")
	fs.StringVar(&o.CredsFile, "nats-creds", os.Getenv("NATS_CREDS"), "NATS credentials file")
	fs.StringVar(&o.NkeySeed, "nats-nkey-seed", os.Getenv("FERRY_NATS_NKEY_SEED"), "file with this service's NATS nkey seed (its identity, see deploy/README.md)")
}

// Validate refuses conflicting credentials: a password or token in the
// URL besides a seed or creds file, or both a seed and a creds file. NATS
// would pick one silently, and the identity in use would not be the one
// the operator believes.
func (o Options) Validate() error {
	var given []string
	if HasUserInfo(o.URL) {
		given = append(given, "a user or token in --nats-url "+RedactURL(o.URL))
	}
	if o.CredsFile != "" {
		given = append(given, "--nats-creds "+o.CredsFile)
	}
	if o.NkeySeed != "" {
		given = append(given, "--nats-nkey-seed "+o.NkeySeed)
	}
	if len(given) > 1 {
		return fmt.Errorf("conflicting NATS credentials: %s; give one identity only", strings.Join(given, " and "))
	}
	return nil
}

// identity describes who o connects as, for logs.
func (o Options) identity(name string) string {
	switch {
	case o.NkeySeed != "":
		return fmt.Sprintf("%s (nkey seed %s)", name, o.NkeySeed)
	case o.CredsFile != "":
		return fmt.Sprintf("%s (creds %s)", name, o.CredsFile)
	case HasUserInfo(o.URL):
		return fmt.Sprintf("%s (user in the URL)", name)
	}
	return fmt.Sprintf("%s (no credentials)", name)
}

// Connect dials NATS as name and returns the connection and its JetStream
// context. The connection retries the first dial and reconnects forever, so
// a NATS restart pauses a service instead of killing it. Conflicting
// credentials in o are an error (Validate).
func Connect(ctx context.Context, name string, o Options, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	log := logging.From(ctx)
	who := o.identity(name)
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { logAsyncError(ctx, who, err) }),
		nats.ClosedHandler(func(c *nats.Conn) {
			if err := c.LastError(); err != nil {
				logAsyncError(ctx, who, err)
				return
			}
			log.Debug("nats connection closed")
		}),
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.NkeySeed != "" {
		seed, err := NkeySeed(o.NkeySeed, o.InboxPrefix)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, seed...)
	}
	url := o.URL
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		if IsAuthError(err) {
			return nil, nil, fmt.Errorf("nats at %s refused %s: %w; check that the seed is the identity's and the server's auth config lists its public key", RedactURL(url), who, err)
		}
		return nil, nil, fmt.Errorf("connect to nats %s as %s: %w", RedactURL(url), who, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// IsAuthError reports whether err is NATS refusing the credentials.
func IsAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired) ||
		strings.Contains(strings.ToLower(fmtErr(err)), "authorization violation")
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// logAsyncError logs an error NATS reported on its own: a refused login
// and a permission violation each with what to check, anything else as is.
func logAsyncError(ctx context.Context, who string, err error) {
	log := logging.From(ctx)
	switch {
	case IsAuthError(err):
		log.Error("nats refused the login: check that the seed file is this identity's and that the server's auth config (deploy/README.md) lists its public key",
			"identity", who, "error", err)
	case errors.Is(err, nats.ErrPermissionViolation):
		log.Error("nats denied a subject to this identity: its permissions (pkg/natsauth) do not allow what the service tried; the server's auth config may be older than this service",
			"identity", who, "error", err)
	default:
		log.Warn("nats error", "identity", who, "error", err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
