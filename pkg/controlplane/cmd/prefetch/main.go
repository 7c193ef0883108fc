// Command prefetch builds (once) and caches the binaries the local control
// plane runs (kube-apiserver, and kube-controller-manager, kube-scheduler
// and kwok for tests whose pods must become Ready), printing progress. CI runs it before the tests
// so a cold build is not charged to a test's timeout.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/ferrycd/ferry/pkg/controlplane"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := controlplane.DefaultCacheDir()
	if err == nil {
		var path string
		path, err = controlplane.EnsureAPIServer(ctx, dir, os.Stderr)
		if err == nil {
			err = controlplane.EnsureWorkloadBinaries(ctx, dir, os.Stderr)
		}
		if err == nil {
			fmt.Println(path)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "prefetch:", err)
	os.Exit(1)
}
