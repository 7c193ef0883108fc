// Package cli is the operator's side of the ferry binary: kubectl-like
// commands that read what Ferry knows from NATS (pkg/fleet) and send
// operator commands, holding no cluster credentials. Run is the whole
// CLI; the binary's main only dispatches to it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Exit codes, for scripts.
const (
	// ExitOK: the command did what was asked.
	ExitOK = 0
	// ExitError: the command could not run (NATS unreachable, no such app, ...).
	ExitError = 1
	// ExitUsage: wrong flags or arguments.
	ExitUsage = 2
	// ExitFailed: a sync, rollback, ... ran and its result failed or is degraded.
	ExitFailed = 3
)

// Usage is the CLI's part of the ferry binary's usage text.
const Usage = `Operate (talks to NATS only; no cluster credentials needed):
  ferry get apps [APP] [--cluster C] [--watch]   apps × clusters: revision, sync, health, drift
  ferry get clusters [--watch]                   apply workers: last seen, version, pending
  ferry status APP [--cluster C]                 each destination and each object's action and health
  ferry history APP [--cluster C]                revisions: commit, author, time, result per cluster
  ferry diff APP [--cluster C]                   live vs desired, from the cluster's worker (secrets redacted)
  ferry sync APP [--cluster C]                   re-apply the current desired state now
  ferry rollback APP --to REV [--cluster C]      apply an earlier revision and pin the app to it
  ferry unpin APP [--cluster C]                  end a rollback's pin; apply the latest revision
  ferry suspend|resume APP [--cluster C]         stop / restart automated sync
  ferry events [--follow] [--app A] [--cluster C] [--since 10m]
                                                 pushes, desired states, results, drift, commands
  ferry trace PUSH-ID|COMMIT                     the spans of one push, as a tree with durations

  Commands without --cluster act on every cluster the app is deployed to and
  wait for the result (applied → awaiting health → healthy/degraded); --no-wait
  returns once the command is stored.

Flags of every operating command:
  --nats-url URL       default $FERRY_NATS_URL, else nats://127.0.0.1:4222
  --nats-creds FILE    NATS credentials file ($FERRY_NATS_CREDS)
  --nats-nkey-seed F   NATS nkey seed file ($FERRY_NATS_NKEY_SEED); ferry dev writes
                       .ferry-dev/nats-operator.nk (the operator; operator-read
                       reads and diffs but sends no commands)
  -o FORMAT            table (default), wide, yaml or json (stable, for scripts)
  --timeout D          how long to wait (default 30s; 3m for commands that wait for health)

Exit codes: 0 ok; 1 error; 2 usage; 3 a sync, rollback, ... ran and failed or is degraded.
`

// command runs one CLI command with its parsed global options.
type command func(ctx context.Context, e *env, args []string) error

// commands maps each command name to its implementation.
var commands = map[string]command{
	"get":      runGet,
	"status":   readOne("APP", runStatus),
	"history":  readOne("APP", runHistory),
	"diff":     readOne("APP", runDiff),
	"sync":     runVerb,
	"rollback": runVerb,
	"suspend":  runVerb,
	"resume":   runVerb,
	"unpin":    runVerb,
	"events":   runEvents,
	"trace":    readOne("PUSH-ID or COMMIT", runTrace),
}

// IsCommand reports whether name is one of the CLI's commands.
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok
}

// Commands lists the CLI's command names, sorted.
func Commands() []string {
	out := make([]string, 0, len(commands))
	for n := range commands {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// usageError is wrong input: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// failedError is a command that ran and whose result failed: exit code 3.
type failedError struct{ msg string }

func (e *failedError) Error() string { return e.msg }

// Run runs one command (args[0] is its name, e.g. "get") and returns
// its exit code. Output goes to stdout; errors, each saying what to do
// next, to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || !IsCommand(args[0]) {
		fmt.Fprint(stderr, Usage)
		return ExitUsage
	}
	e := &env{out: stdout, errOut: stderr, name: args[0]}
	rest, err := e.parse(args[1:])
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, Usage)
		return ExitOK
	}
	if err == nil {
		err = commands[args[0]](ctx, e, rest)
	}
	defer e.close()
	if errors.Is(err, context.Canceled) && (e.watch || e.follow) {
		return ExitOK // Ctrl-C is how --watch and --follow end
	}
	return report(stderr, args[0], err)
}

// report prints err and returns its exit code.
func report(stderr io.Writer, name string, err error) int {
	var ue *usageError
	var fe *failedError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "ferry %s: interrupted: %v\n", name, err)
		return ExitError
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ferry %s: %v\nRun 'ferry help' for usage.\n", name, err)
		return ExitUsage
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "ferry %s: %v\n", name, err)
		return ExitFailed
	default:
		fmt.Fprintf(stderr, "ferry %s: %s\n", name, strings.TrimSpace(err.Error()))
		return ExitError
	}
}
