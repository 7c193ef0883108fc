//go:build !pprof

package main

import (
	"context"
	"flag"
)

// debugOptions is empty in a normal build. Build with -tags pprof for
// --pprof-addr: linking the profiler costs about 2 MiB of resident memory
// even when it is not served, and without it the Go linker turns heap
// profiling off altogether.
type debugOptions struct{}

// bindDebugFlags registers nothing.
func (*debugOptions) bindDebugFlags(*flag.FlagSet) {}

// startDebug starts nothing.
func (*debugOptions) startDebug(context.Context) error { return nil }
