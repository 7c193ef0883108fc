package worker

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
)

// Defaults for Options fields left at their zero value.
const (
	DefaultConcurrency  = 8
	DefaultQPS          = 200
	DefaultBurst        = 400
	DefaultFieldManager = "ferry"
	DefaultApplyTimeout = 5 * time.Minute
	// DefaultHealthTimeout is how long a sync waits for its objects to
	// become ready before it reports the app Degraded.
	DefaultHealthTimeout = 2 * time.Minute
	// DefaultHeartbeatInterval is how often the worker reports to the cluster registry.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultMaxBundleBytes is the largest desired state the worker
	// accepts, equal to render's default --max-rendered-bytes (limits.go).
	DefaultMaxBundleBytes = 16 << 20
)

// Options configures one apply worker. Zero values take the defaults above.
type Options struct {
	// Cluster is the name of the cluster this worker applies to (a DNS-1123
	// label); it selects the subjects ferry.desired.<cluster>.>.
	Cluster string
	// Concurrency is how many apps are applied in parallel. Revisions of one
	// app are always applied in order, one at a time.
	Concurrency int
	// QPS and Burst are the Kubernetes client rate limits. The defaults are
	// far above client-go's 5/10, which would throttle a 1,000-object apply.
	QPS   float32
	Burst int
	// FieldManager is the server-side apply field manager.
	FieldManager string
	// ApplyTimeout bounds one sync of one app (load, apply, report).
	ApplyTimeout time.Duration
	// HealthTimeout bounds the wait for an app's objects to become ready
	// after they are applied; the result is published after the wait.
	// Negative skips the wait (health UNKNOWN).
	HealthTimeout time.Duration
	// DriftResync is the interval of the full drift comparison that
	// catches what a watch missed; default 5m.
	DriftResync time.Duration
	// HeartbeatInterval is how often the worker puts its heartbeat into
	// the cluster registry (KV ferry-clusters).
	HeartbeatInterval time.Duration
	// Version is reported in heartbeats; empty means the build's version.
	Version string
	// MaxBundleBytes bounds the manifests of one desired state and the
	// bundle bytes being applied at once (limits.go); negative means no
	// limit.
	MaxBundleBytes int64
}

// BindFlags registers --concurrency, --kube-qps, --kube-burst,
// --field-manager, --apply-timeout and --health-timeout. --cluster is left to the caller, as
// the all-in-one binary sets it differently.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.Concurrency, "concurrency", DefaultConcurrency, "apps applied in parallel")
	o.QPS = DefaultQPS
	fs.Var((*float32Value)(&o.QPS), "kube-qps", "Kubernetes client queries per second")
	fs.IntVar(&o.Burst, "kube-burst", DefaultBurst, "Kubernetes client burst")
	fs.StringVar(&o.FieldManager, "field-manager", DefaultFieldManager, "server-side apply field manager")
	fs.DurationVar(&o.ApplyTimeout, "apply-timeout", DefaultApplyTimeout, "time limit for one sync of one app")
	fs.DurationVar(&o.HealthTimeout, "health-timeout", DefaultHealthTimeout, "how long a sync waits for its objects to become ready (negative: do not wait)")
	fs.DurationVar(&o.DriftResync, "drift-resync", 5*time.Minute, "interval of the full drift comparison (watches report drift as it happens)")
	fs.DurationVar(&o.HeartbeatInterval, "heartbeat-interval", DefaultHeartbeatInterval, "how often to report liveness to the cluster registry")
	fs.Int64Var(&o.MaxBundleBytes, "max-bundle-bytes", DefaultMaxBundleBytes, "largest desired state applied, in bytes of manifests, and the bundle bytes applied at once (keep at least render's --max-rendered-bytes; negative: no limit)")
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.QPS <= 0 {
		o.QPS = DefaultQPS
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	if o.ApplyTimeout <= 0 {
		o.ApplyTimeout = DefaultApplyTimeout
	}
	if o.HealthTimeout == 0 {
		o.HealthTimeout = DefaultHealthTimeout
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.Version == "" {
		o.Version = buildVersion()
	}
	if o.MaxBundleBytes == 0 {
		o.MaxBundleBytes = DefaultMaxBundleBytes
	}
	return o
}

// validate checks the options that have no default.
func (o Options) validate() error {
	if o.Cluster == "" {
		return errors.New("cluster name is required")
	}
	if err := subject.ValidateName(o.Cluster); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// float32Value is a flag.Value for a float32 such as rest.Config.QPS.
type float32Value float32

func (v *float32Value) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 32) }

func (v *float32Value) Set(s string) error {
	f, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return fmt.Errorf("parse %q: %w", s, err)
	}
	*v = float32Value(f)
	return nil
}
