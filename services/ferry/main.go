// Command ferry is Ferry's all-in-one binary: `ferry dev` runs the whole
// pipeline in one process for the quickstart; `ferry notify` is the git
// hook that turns a push into a webhook; get, status, history, diff,
// sync, rollback, suspend, resume, unpin, events and trace are the
// operator's CLI (package cli).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/services/ferry/cli"
	"github.com/ferrycd/ferry/services/ferry/dev"
)

const usage = `ferry — event-driven GitOps continuous delivery for Kubernetes

Usage:
  ferry dev [flags]      run NATS, ingest, render, apply and drift in one process,
                         with a local cluster and a sample repository
  ferry notify [flags]   git post-receive hook: send each pushed ref as a webhook
  ferry nkeys --out DIR CLUSTER...
                         write each NATS identity's nkey seed and the server's
                         users file DIR/auth.conf (deploy/README.md)
  ferry version          print the version

Run 'ferry <command> -h' for a command's flags.

` + cli.Usage

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var code exitCode
	switch {
	case errors.As(err, &code): // the CLI has said what went wrong
		stop()
		os.Exit(int(code))
	case err != nil && !errors.Is(err, context.Canceled): // Ctrl-C during start-up is a clean stop
		fmt.Fprintln(os.Stderr, "ferry:", err)
		os.Exit(1)
	}
}

// exitCode is a CLI command's non-zero exit code; the command printed
// its error already.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit code %d", int(c)) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "ferry: no command given")
		return exitCode(cli.ExitUsage)
	}
	if cli.IsCommand(args[0]) {
		if code := cli.Run(ctx, args, stdout, stderr); code != cli.ExitOK {
			return exitCode(code)
		}
		return nil
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "notify":
		return notify(ctx, args[1:], stdin, stderr)
	case "nkeys":
		return nkeys(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ferry", version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		fmt.Fprintf(stderr, "ferry: unknown command %q\n", args[0])
		return exitCode(cli.ExitUsage)
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := dev.DefaultOptions()
	opts.Out = stdout
	logOpts := logging.Options{}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts.BindFlags(fs)
	logOpts.BindFlags(fs)
	// The quickstart is read by a person: warnings and errors only, as text.
	_ = fs.Set("log-format", "text")
	_ = fs.Set("log-level", "warn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logging.New(stderr, logOpts)
	if err != nil {
		return err
	}
	// controller-runtime's client (used through fluxcd/pkg/ssa) logs via logr.
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	return dev.Run(logging.Into(ctx, log), opts)
}
