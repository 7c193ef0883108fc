//go:build !linux

package controlplane

import "os/exec"

// setParentDeathSignal does nothing: only Linux has a parent-death signal.
func setParentDeathSignal(*exec.Cmd) {}
