// Package renderer is the render service's consumer loop: it takes push
// events from FERRY_GIT, keeps the app registry in the ferry-apps bucket up
// to date from platform repositories' ferry.yaml, renders every app the
// push touches and publishes one DesiredState per app and destination.
package renderer

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/services/render/source"
)

// Options configures Run. Zero values take the defaults.
type Options struct {
	// CacheDir holds one bare clone per repository; default
	// os.UserCacheDir()/ferry/git.
	CacheDir string
	// Workers is how many repositories are processed in parallel; pushes of
	// one repository are always processed in order. Default GOMAXPROCS.
	Workers int
	// FetchTimeout bounds one git fetch. Default one minute.
	FetchTimeout time.Duration
	// PlatformRepos are the clone URLs of the platform repositories, the
	// only repositories whose ferry.yaml declares apps; the last path
	// segment may be a glob (https://git.example.com/org/platform-*).
	// Required. A ferry.yaml in any other repository is ignored, with a
	// notice on its push; an app belongs to the platform repository that
	// declared it first and no other may redeclare it.
	PlatformRepos []string
	// PlatformRef is the branch whose ferry.yaml defines the app registry;
	// ferry.yaml on other branches is ignored. Default registry.DefaultRef.
	PlatformRef string
	// RetryInitial is the first delay before a push that failed to fetch or
	// publish is redelivered. Default one second.
	RetryInitial time.Duration
	// RetryMax caps the redelivery delay. Default five minutes.
	RetryMax time.Duration
	// MaxDeliveries is how often a push is tried before render gives up,
	// publishes a failure status for its apps and terminates it. Default 20
	// (about an hour with the default delays).
	MaxDeliveries int
	// CacheBytes bounds the rendered-output cache. Default 256 MiB.
	CacheBytes int64

	// --- Limits: the cost of one render (limits.go) ---

	// Limits bound what rendering one app for one destination may read,
	// produce and take; going over one is a RenderFailed status naming
	// the limit, and nothing reaches the worker. Zero fields take the
	// defaults (DefaultLimits), negative ones mean no limit.
	Limits source.Limits

	// started, when set (by tests), is called with the renderer once Run
	// has built it.
	started func(*renderer)
}

// BindFlags registers the options as flags, defaulting to FERRY_RENDER_*
// environment variables.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.CacheDir, "cache-dir", os.Getenv("FERRY_RENDER_CACHE_DIR"), "git cache directory (default <user cache dir>/ferry/git)")
	fs.IntVar(&o.Workers, "workers", envInt("FERRY_RENDER_WORKERS", 0), "repositories rendered in parallel (default GOMAXPROCS)")
	fs.DurationVar(&o.FetchTimeout, "fetch-timeout", envDuration("FERRY_RENDER_FETCH_TIMEOUT", time.Minute), "timeout of one git fetch")
	if v := os.Getenv("FERRY_RENDER_PLATFORM_REPO"); v != "" && len(o.PlatformRepos) == 0 {
		o.PlatformRepos = strings.Split(v, ",")
	}
	fs.Func("platform-repo", "clone URL of a platform repository, whose ferry.yaml declares apps; repeat or comma-separate for several (required; env FERRY_RENDER_PLATFORM_REPO)", func(v string) error {
		o.PlatformRepos = append(o.PlatformRepos, strings.Split(v, ",")...)
		return nil
	})
	fs.StringVar(&o.PlatformRef, "platform-ref", envOr("FERRY_RENDER_PLATFORM_REF", registry.DefaultRef), "branch whose ferry.yaml defines the apps")
	fs.DurationVar(&o.RetryInitial, "retry-initial", envDuration("FERRY_RENDER_RETRY_INITIAL", time.Second), "first redelivery delay after a fetch or publish error")
	fs.DurationVar(&o.RetryMax, "retry-max", envDuration("FERRY_RENDER_RETRY_MAX", 5*time.Minute), "largest redelivery delay")
	fs.Int64Var(&o.CacheBytes, "cache-bytes", int64(envInt("FERRY_RENDER_CACHE_BYTES", 256<<20)), "size bound of the rendered-output cache")
	fs.IntVar(&o.MaxDeliveries, "max-deliveries", envInt("FERRY_RENDER_MAX_DELIVERIES", 20), "attempts before a push is given up with a failure status")
	bindLimitFlags(fs, &o.Limits)
}

// withDefaults fills zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return o, fmt.Errorf("no cache dir given and no user cache dir: %w", err)
		}
		o.CacheDir = filepath.Join(dir, "ferry", "git")
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = time.Minute
	}
	if o.PlatformRef == "" {
		o.PlatformRef = registry.DefaultRef
	}
	if o.RetryInitial <= 0 {
		o.RetryInitial = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.RetryMax < o.RetryInitial {
		return o, errors.New("retry-max is smaller than retry-initial")
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 256 << 20
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 20
	}
	o.Limits = limitsWithDefaults(o.Limits)
	return o, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil {
		return v
	}
	return def
}
