// Package stream declares Ferry's JetStream streams, KV buckets and object
// store, and creates or updates them idempotently. Every service calls
// Ensure at start, so any one of them can come up first.
package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/subject"
)

// Options tunes retention. Zero values take the defaults.
type Options struct {
	// DesiredHistory is how many revisions per app and cluster FERRY_DESIRED keeps (rollback history).
	DesiredHistory int64
	// DuplicateWindow is how long a push's message id (its transition:
	// repository, ref, before, after) is remembered for dedupe.
	DuplicateWindow time.Duration
	// Storage is file (default) or memory.
	Storage jetstream.StorageType
}

// DefaultOptions returns the retention used when nothing is configured.
func DefaultOptions() Options {
	return Options{DesiredHistory: 20, DuplicateWindow: 24 * time.Hour, Storage: jetstream.FileStorage}
}

// Configs returns the stream configurations for opts.
func Configs(opts Options) []jetstream.StreamConfig {
	d := DefaultOptions()
	if opts.DesiredHistory <= 0 {
		opts.DesiredHistory = d.DesiredHistory
	}
	if opts.DuplicateWindow <= 0 {
		opts.DuplicateWindow = d.DuplicateWindow
	}
	return []jetstream.StreamConfig{
		{
			Name: subject.StreamGit, Subjects: []string{subject.AllGit},
			Description: "verified push webhooks", Storage: opts.Storage,
			Duplicates: opts.DuplicateWindow, MaxAge: 7 * 24 * time.Hour,
		},
		{
			Name: subject.StreamDesired, Subjects: []string{subject.AllDesired},
			Description: "rendered desired state per cluster and app", Storage: opts.Storage,
			MaxMsgsPerSubject: opts.DesiredHistory, Duplicates: 10 * time.Minute,
			MaxMsgSize: 8 << 20,
			// Direct gets by subject ($JS.API.DIRECT.GET.<stream>.<subject>)
			// carry the subject in the API subject, so a worker's
			// credentials can allow its own cluster's subjects only
			// (pkg/natsauth); STREAM.MSG.GET could read any cluster's.
			AllowDirect: true,
		},
		{
			Name: subject.StreamStatus, Subjects: []string{subject.AllStatus},
			Description: "sync results", Storage: opts.Storage,
			MaxMsgsPerSubject: 100, MaxAge: 30 * 24 * time.Hour,
		},
		{
			Name: subject.StreamDrift, Subjects: []string{subject.AllDrift},
			Description: "drift events", Storage: opts.Storage,
			MaxMsgsPerSubject: 100, MaxAge: 30 * 24 * time.Hour,
		},
		{
			Name: subject.StreamCommands, Subjects: []string{subject.AllCommands},
			Description: "operator commands", Storage: opts.Storage,
			MaxAge: 24 * time.Hour, Duplicates: 10 * time.Minute,
		},
		{
			Name: subject.StreamRegistry, Subjects: []string{subject.AllRegistry},
			Description: "what render made of each repository's ferry.yaml", Storage: opts.Storage,
			MaxMsgsPerSubject: 20, MaxAge: 90 * 24 * time.Hour, AllowDirect: true,
		},
		{
			Name: subject.StreamTraces, Subjects: []string{subject.AllTraces},
			Description: "finished trace spans, one subject per trace", Storage: opts.Storage,
			MaxAge: 7 * 24 * time.Hour, MaxBytes: 256 << 20, Discard: jetstream.DiscardOld,
		},
	}
}

// Ensure creates or updates every stream, KV bucket and object store.
// It is safe to call concurrently from several services.
func Ensure(ctx context.Context, js jetstream.JetStream, opts Options) error {
	for _, cfg := range Configs(opts) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	for _, kv := range []jetstream.KeyValueConfig{
		{Bucket: subject.BucketApps, Description: "app registry from ferry.yaml", History: 5, Storage: opts.Storage},
		{Bucket: subject.BucketClusters, Description: "apply worker heartbeats", Storage: opts.Storage},
		{Bucket: subject.BucketAppState, Description: "operator controls per app: rollback pins, suspended sync", History: 5, Storage: opts.Storage},
	} {
		if _, err := js.CreateOrUpdateKeyValue(ctx, kv); err != nil {
			return fmt.Errorf("ensure kv %s: %w", kv.Bucket, err)
		}
	}
	// Bundle object stores are per cluster, created by render on first use.
	return nil
}

// Durable creates or updates a durable pull consumer on streamName.
func Durable(ctx context.Context, js jetstream.JetStream, streamName string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	if cfg.Durable == "" {
		return nil, errors.New("durable consumer needs a name")
	}
	if cfg.AckPolicy == jetstream.AckNonePolicy {
		cfg.AckPolicy = jetstream.AckExplicitPolicy
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = 2 * time.Minute
	}
	c, err := js.CreateOrUpdateConsumer(ctx, streamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", cfg.Durable, streamName, err)
	}
	return c, nil
}
