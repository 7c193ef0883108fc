package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultGCPercent is the worker's GOGC unless the environment sets one.
// A worker spends nearly all its life at rest watching objects, where the
// heap it holds between collections is what costs memory: 50 keeps it at
// 1.5x the live heap instead of Go's 2x, about 4.5 MiB less RSS with 1,000
// watched objects, for more collections during an apply (a 1,000-object
// apply takes the same time within noise; BENCHMARKS.md).
const defaultGCPercent = 50

// gcPercentDefault is GOGC from the environment (as the runtime reads it:
// a number, or "off" for -1) or defaultGCPercent.
func gcPercentDefault() int {
	v := strings.TrimSpace(os.Getenv("GOGC"))
	if strings.EqualFold(v, "off") {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return defaultGCPercent
}

// setGCPercent applies --gc-percent; negative turns the collector off
// (only sensible with a memory limit, GOMEMLIMIT).
func setGCPercent(p int) error {
	if p < -1 {
		return fmt.Errorf("--gc-percent %d: use -1 (off) or a percentage", p)
	}
	debug.SetGCPercent(p)
	return nil
}
