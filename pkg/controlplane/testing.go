package controlplane

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// StartForTest starts a control plane whose files live in t.TempDir() and
// stops it in t.Cleanup. It fails the test with t.Fatal if the control plane
// cannot start; it never skips. On the first run on a machine it builds
// kube-apiserver, printing progress to stderr; that build can take longer
// than go test's default 10-minute timeout, so run `ferry dev` once or pass
// -timeout when the cache is cold.
func StartForTest(t testing.TB) *ControlPlane {
	t.Helper()
	c, err := Start(t.Context(), Options{Dir: t.TempDir(), Progress: os.Stderr})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	return c
}

// Main starts one control plane for a whole test package, stores it in
// *out, runs the tests and stops it. It returns the exit code for os.Exit,
// or 1 without running any test if the control plane cannot start:
//
//	var cp *controlplane.ControlPlane
//
//	func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }
func Main(m *testing.M, out **ControlPlane) int {
	return MainWith(m, out, Options{})
}

// MainWith is Main with options, for example Workloads for tests that need
// Pods to become Ready. Progress defaults to stderr.
func MainWith(m *testing.M, out **ControlPlane, opts Options) int {
	if opts.Progress == nil {
		opts.Progress = os.Stderr
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "start control plane: %v\n", err)
		return 1
	}
	*out = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
