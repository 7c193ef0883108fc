package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestUsageErrorsExitTwo: a missing or unknown command is a usage error
// (exit code 2, as the usage text promises scripts), with the usage shown.
func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), args, strings.NewReader(""), &out, &errOut)
		var code exitCode
		if !errors.As(err, &code) || code != 2 {
			t.Errorf("ferry %v: error %v, want exit code 2", args, err)
		}
		if !strings.Contains(errOut.String(), "Usage:") || !strings.Contains(errOut.String(), "ferry: ") {
			t.Errorf("ferry %v printed %q, want the usage and what was wrong", args, errOut.String())
		}
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"help"}, strings.NewReader(""), &out, &out); err != nil || !strings.Contains(out.String(), "ferry get apps") {
		t.Errorf("ferry help: %v, %q", err, out.String())
	}
}
