package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/natsauth"
)

func TestConflictingCredentialsAreAUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(t.Context(), []string{"get", "apps", "--nats-url", "nats://admin:s3cret@127.0.0.1:1", "--nats-nkey-seed", "/x/seed"}, &out, &errOut)
	if code != ExitUsage || !strings.Contains(errOut.String(), "conflicting NATS credentials") {
		t.Errorf("exit %d, stderr %q: want a usage error about conflicting credentials", code, errOut.String())
	}
	if strings.Contains(errOut.String(), "s3cret") {
		t.Errorf("stderr prints the password: %q", errOut.String())
	}
}

func TestRefusedLoginNamesTheIdentityNotThePassword(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	// A password the server does not take, in the URL.
	url := strings.Replace(srv.ClientURL(), "nats://", "nats://admin:s3cret@", 1)
	var out, errOut bytes.Buffer
	if code := Run(t.Context(), []string{"get", "apps", "--nats-url", url}, &out, &errOut); code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if s := errOut.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "refused") || !strings.Contains(s, "nats-operator.nk") {
		t.Errorf("stderr %q: want the refusal and the operator seed, never the password", s)
	}

	// The operator-read identity reads.
	seed := filepath.Join(t.TempDir(), "operator-read.nk")
	if err := set.Services[natsauth.OperatorRead].WriteSeedFile(seed); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	code := Run(t.Context(), []string{"get", "clusters", "--nats-url", srv.ClientURL(), "--nats-nkey-seed", seed}, &out, &errOut)
	if strings.Contains(errOut.String(), "refused") || strings.Contains(errOut.String(), "denied") {
		t.Errorf("operator-read refused (exit %d): %q", code, errOut.String())
	}
}
