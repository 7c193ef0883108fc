package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsconn"
)

// DefaultNATSURL is where the CLI looks for NATS without --nats-url or
// FERRY_NATS_URL: ferry dev's embedded server.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// operatorSeedFile is where ferry dev writes the operator's nkey seed, in
// its state directory.
const operatorSeedFile = "nats-operator.nk"

// defaultTimeout bounds reads and diffs unless --timeout says otherwise.
const defaultTimeout = 30 * time.Second

// errHelp is -h or --help.
var errHelp = flag.ErrHelp

// env is one CLI invocation: its flags, output and NATS connection.
type env struct {
	name        string
	out, errOut io.Writer

	natsURL, creds, seed string
	output               string
	timeout              time.Duration

	// Flags some commands take.
	cluster, app, to string
	watch, follow    bool
	noWait           bool
	since            time.Duration

	nc *nats.Conn
}

// commandFlags names the flags each command takes besides the global ones.
var commandFlags = map[string][]string{
	"get":      {"cluster", "watch"},
	"status":   {"cluster"},
	"history":  {"cluster"},
	"diff":     {"cluster"},
	"sync":     {"cluster", "no-wait"},
	"rollback": {"cluster", "no-wait", "to"},
	"suspend":  {"cluster", "no-wait"},
	"resume":   {"cluster", "no-wait"},
	"unpin":    {"cluster", "no-wait"},
	"events":   {"cluster", "app", "follow", "since"},
	"trace":    {},
}

// parse reads the global flags and the command's own, before, between
// and after its arguments (kubectl style), and returns the arguments.
func (e *env) parse(args []string) ([]string, error) {
	fs := flag.NewFlagSet("ferry "+e.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.natsURL, "nats-url", envOr("FERRY_NATS_URL", DefaultNATSURL), "NATS server URL(s)")
	fs.StringVar(&e.creds, "nats-creds", os.Getenv("FERRY_NATS_CREDS"), "NATS credentials file")
	fs.StringVar(&e.seed, "nats-nkey-seed", os.Getenv("FERRY_NATS_NKEY_SEED"), "NATS nkey seed file")
	fs.StringVar(&e.output, "o", "table", "output: table, wide, yaml or json")
	fs.StringVar(&e.output, "output", "table", "output: table, wide, yaml or json")
	fs.DurationVar(&e.timeout, "timeout", 0, "how long to wait")
	for _, name := range commandFlags[e.name] {
		switch name {
		case "cluster":
			fs.StringVar(&e.cluster, "cluster", "", "cluster")
		case "app":
			fs.StringVar(&e.app, "app", "", "app")
		case "to":
			fs.StringVar(&e.to, "to", "", "revision to roll back to")
		case "watch":
			fs.BoolVar(&e.watch, "watch", false, "print again on every change")
			fs.BoolVar(&e.watch, "w", false, "print again on every change")
		case "follow":
			fs.BoolVar(&e.follow, "follow", false, "keep printing new events")
			fs.BoolVar(&e.follow, "f", false, "keep printing new events")
		case "since":
			fs.DurationVar(&e.since, "since", 10*time.Minute, "start this long ago")
		case "no-wait":
			fs.BoolVar(&e.noWait, "no-wait", false, "return once the command is stored")
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	switch e.output {
	case "table", "wide", "yaml", "json":
	default:
		return nil, usagef("-o %s: use table, wide, yaml or json", e.output)
	}
	if e.timeout < 0 {
		return nil, usagef("--timeout %s: give a positive duration, e.g. 30s or 3m", e.timeout)
	}
	if e.since < 0 {
		return nil, usagef("--since %s: give how long ago to start as a positive duration, e.g. 10m or 2h", e.since)
	}
	return pos, nil
}

// client connects to NATS, failing fast when it is unreachable, and
// returns a read model client on the connection.
func (e *env) client(ctx context.Context) (*fleet.Client, error) {
	extra := []nats.Option{nats.RetryOnFailedConnect(false), nats.Timeout(5 * time.Second)}
	o := natsconn.Options{URL: e.natsURL, CredsFile: e.creds, NkeySeed: e.seed}
	if err := o.Validate(); err != nil {
		return nil, usagef("%v (--nats-url, --nats-creds, --nats-nkey-seed or FERRY_NATS_URL, FERRY_NATS_CREDS, FERRY_NATS_NKEY_SEED)", err)
	}
	// The CLI reports errors itself; the connection's own logs would only
	// repeat them, but a permission violation (what the identity may not
	// do) is worth a line.
	ctx = logging.Into(ctx, slog.New(slog.NewTextHandler(e.errOut, &slog.HandlerOptions{Level: slog.LevelError})))
	nc, _, err := natsconn.Connect(ctx, "ferry-cli", o, extra...)
	url := natsconn.RedactURL(e.natsURL)
	switch {
	case err != nil && natsconn.IsAuthError(err):
		return nil, fmt.Errorf("NATS at %s refused the connection (%v): give an identity with --nats-nkey-seed: the operator's seed (ferry dev writes .ferry-dev/%s), or operator-read's for reading only (deploy/README.md)", url, err, operatorSeedFile)
	case err != nil && strings.Contains(err.Error(), "nkey seed"):
		return nil, fmt.Errorf("%w: check --nats-nkey-seed / FERRY_NATS_NKEY_SEED", err)
	case err != nil:
		return nil, fmt.Errorf("cannot reach NATS at %s (%v): is Ferry running? Point the CLI at its NATS with --nats-url or FERRY_NATS_URL (ferry dev prints the line to export)", url, err)
	}
	e.nc = nc
	c, err := fleet.NewClient(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// close closes the NATS connection, if any.
func (e *env) close() {
	if e.nc != nil {
		e.nc.Close()
	}
}

// withTimeout bounds ctx by --timeout, else by def.
func (e *env) withTimeout(ctx context.Context, def time.Duration) (context.Context, context.CancelFunc) {
	if e.timeout > 0 {
		def = e.timeout
	}
	return context.WithTimeout(ctx, def)
}

// readOne is a command taking one argument (named what in errors) that
// reads through a connected client, within --timeout or defaultTimeout.
func readOne(what string, run func(ctx context.Context, e *env, c *fleet.Client, arg string) error) command {
	return func(ctx context.Context, e *env, args []string) error {
		arg, err := oneArg(args, what)
		if err != nil {
			return err
		}
		c, err := e.client(ctx)
		if err != nil {
			return err
		}
		ctx, cancel := e.withTimeout(ctx, defaultTimeout)
		defer cancel()
		return run(ctx, e, c, arg)
	}
}

// oneArg returns the single argument a command takes, e.g. APP.
func oneArg(args []string, what string) (string, error) {
	switch len(args) {
	case 1:
		return args[0], nil
	case 0:
		return "", usagef("missing %s", what)
	default:
		return "", usagef("takes one %s, got %q", what, args)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
