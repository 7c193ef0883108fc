package renderer

import (
	"flag"
	"time"

	"github.com/ferrycd/ferry/services/render/source"
)

// DefaultLimits are the limits of one render unless flags change them.
//
//   - MaxRenderedBytes, 16 MiB: the apply worker turns a bundle into
//     objects at several times its size, and it must apply the largest
//     revision render publishes within its 384 MiB memory limit
//     (deploy/kubernetes/apply) next to ~90 MiB at rest. The worker
//     refuses bundles over its own --max-bundle-bytes, the same 16 MiB.
//   - MaxObjectBytes, 3 MiB: the API server refuses a request body over
//     3 MiB anyway (and etcd stores at most 1.5 MiB by default), so a
//     larger object could never be applied.
//   - MaxObjects, 5,000: an app's objects are applied and watched one by
//     one; more belong in several apps.
//   - MaxRepoFiles, 10,000 and MaxRepoBytes, 64 MiB: what one render may
//     read from the repository (counted once per distinct file).
//   - HelmTimeout, 30 s: Helm's templating of one chart.
var DefaultLimits = source.Limits{
	MaxRenderedBytes: 16 << 20,
	MaxObjectBytes:   3 << 20,
	MaxObjects:       5000,
	MaxRepoFiles:     10000,
	MaxRepoBytes:     64 << 20,
	HelmTimeout:      30 * time.Second,
}

// bindLimitFlags registers the limit flags into l, defaulting to their
// FERRY_RENDER_* environment variables, then DefaultLimits.
func bindLimitFlags(fs *flag.FlagSet, l *source.Limits) {
	d := DefaultLimits
	bytesFlag := func(p *int64, name string, def int64, usage string) {
		fs.Int64Var(p, name, int64(envInt(source.FlagEnv(name), int(def))), usage)
	}
	bytesFlag(&l.MaxRenderedBytes, source.FlagMaxRenderedBytes, d.MaxRenderedBytes,
		"largest rendered output of one app, in bytes (keep at most the apply worker's --max-bundle-bytes; negative: no limit)")
	bytesFlag(&l.MaxObjectBytes, source.FlagMaxObjectBytes, d.MaxObjectBytes,
		"largest rendered object, in bytes of JSON (the API server refuses more than 3 MiB; negative: no limit)")
	fs.IntVar(&l.MaxObjects, source.FlagMaxObjects, envInt(source.FlagEnv(source.FlagMaxObjects), d.MaxObjects),
		"most objects one app may render (negative: no limit)")
	fs.IntVar(&l.MaxRepoFiles, source.FlagMaxRepoFiles, envInt(source.FlagEnv(source.FlagMaxRepoFiles), d.MaxRepoFiles),
		"most repository files one render may read (negative: no limit)")
	bytesFlag(&l.MaxRepoBytes, source.FlagMaxRepoBytes, d.MaxRepoBytes,
		"most bytes of repository files one render may read (negative: no limit)")
	fs.DurationVar(&l.HelmTimeout, source.FlagHelmTimeout, envDuration(source.FlagEnv(source.FlagHelmTimeout), d.HelmTimeout),
		"time limit of Helm's templating of one chart (negative: no limit)")
}

// limitsWithDefaults fills l's zero fields from DefaultLimits.
func limitsWithDefaults(l source.Limits) source.Limits {
	d := DefaultLimits
	if l.MaxRenderedBytes == 0 {
		l.MaxRenderedBytes = d.MaxRenderedBytes
	}
	if l.MaxObjectBytes == 0 {
		l.MaxObjectBytes = d.MaxObjectBytes
	}
	if l.MaxObjects == 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxRepoFiles == 0 {
		l.MaxRepoFiles = d.MaxRepoFiles
	}
	if l.MaxRepoBytes == 0 {
		l.MaxRepoBytes = d.MaxRepoBytes
	}
	if l.HelmTimeout == 0 {
		l.HelmTimeout = d.HelmTimeout
	}
	return l
}
