package cli

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/services/ferry/cli"
)

// TestBinaryExitCodes builds the ferry binary and checks the exit codes
// scripts rely on: 0 ok, 1 error, 2 usage, 3 a command's result failed.
func TestBinaryExitCodes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ferry")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/ferrycd/ferry/services/ferry")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build ferry: %v\n%s", err, out)
	}
	a := newApp(t, "exits")
	sha, _ := a.push(t, a.files("hello", map[string]string{"bad.yaml": badService}), "Add a broken service")
	waitApp(t, a.name, "exits failed", func(a appJSON) bool { return a.Apps[0].Sync == "Failed" && a.Apps[0].Revision == sha })

	url := pipe.NATS.ClientURL()
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"get", "apps", "--nats-url", url}, cli.ExitOK, ""},
		{[]string{"get", "apps", "-o", "json"}, cli.ExitOK, ""}, // FERRY_NATS_URL
		{[]string{"get", "nothing", "--nats-url", url}, cli.ExitUsage, `cannot get "nothing"`},
		{[]string{"status", "--nats-url", url}, cli.ExitUsage, "missing APP"},
		{[]string{"get", "apps", "--nats-url", "nats://127.0.0.1:1"}, cli.ExitError, "cannot reach NATS at nats://127.0.0.1:1"},
		{[]string{"status", "no-such-app", "--nats-url", url}, cli.ExitError, `no app "no-such-app"`},
		{[]string{"sync", "exits", "--nats-url", url}, cli.ExitFailed, "sync of exits did not succeed"},
	} {
		cmd := exec.CommandContext(t.Context(), bin, c.args...)
		cmd.Env = append(cmd.Environ(), "FERRY_NATS_URL="+url)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("run ferry %v: %v", c.args, err)
		}
		if code != c.code || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("ferry %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.stderr)
		}
	}
}
