package process

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunStopsCleanly: a run that returns nil, or ends because the signal
// cancelled it, returns; the context carries the logger and ends on
// SIGTERM.
func TestRunStopsCleanly(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	Run(log, "failed", func(ctx context.Context) error { return nil })
	Run(log, "failed", func(ctx context.Context) error { return context.Canceled })
	Run(log, "failed", func(ctx context.Context) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return errors.New("SIGTERM did not end the context")
		}
	})
	if buf.Len() != 0 {
		t.Errorf("a clean stop logged %s", buf.String())
	}
}

// TestRunExitsOnFailure: a failing run logs the failure and exits 1 (in a
// child process, since Run calls os.Exit).
func TestRunExitsOnFailure(t *testing.T) {
	if os.Getenv("PROCESS_TEST_CHILD") == "1" {
		Run(slog.New(slog.NewJSONHandler(os.Stderr, nil)), "service failed", func(context.Context) error {
			return errors.New("listen: address in use")
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunExitsOnFailure$")
	cmd.Env = append(os.Environ(), "PROCESS_TEST_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child ended with %v, want exit status 1", err)
	}
	if out := stderr.String(); !strings.Contains(out, `"msg":"service failed"`) || !strings.Contains(out, "address in use") {
		t.Errorf("child logged %q, want the failure and its error", out)
	}
}
