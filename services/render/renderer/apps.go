package renderer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/repoid"
	"github.com/ferrycd/ferry/pkg/subject"
)

// appIndex is an in-memory view of the ferry-apps bucket, kept current by a
// KV watcher, so a push does not read the whole bucket. Writes render makes
// itself are applied at once; revisions keep a late watcher update from
// undoing them.
type appIndex struct {
	kv jetstream.KeyValue
	ps platforms // whose entries are trusted

	mu   sync.RWMutex
	apps map[string]indexed
}

// indexed is one key of the bucket: the entry, or a tombstone after a delete.
type indexed struct {
	rev   uint64
	entry *registry.Entry // nil when deleted
	// source is the entry's repository, parsed once; rendered is set when
	// the entry is live, its source parses and a trusted platform
	// repository declared it, so a push compares identities only.
	source   repoid.ID
	rendered bool
}

// index builds the indexed form of entry at rev.
func (x *appIndex) index(rev uint64, entry *registry.Entry) indexed {
	in := indexed{rev: rev, entry: entry}
	if entry == nil || !x.ps.trusts(entry.Platform) {
		return in
	}
	src, err := repoid.Parse(entry.Source.Repo)
	in.source, in.rendered = src, err == nil
	return in
}

// target is one app × destination a push renders.
type target struct {
	entry *registry.Entry
	dest  registry.Destination
}

// watchApps loads the bucket and keeps watching it until ctx is done.
func watchApps(ctx context.Context, kv jetstream.KeyValue, ps platforms) (*appIndex, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", subject.BucketApps, err)
	}
	idx := &appIndex{kv: kv, ps: ps, apps: map[string]indexed{}}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
initial:
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch %s: closed while loading", subject.BucketApps)
			}
			if e == nil {
				break initial
			}
			idx.apply(ctx, e)
		case <-timeout.C:
			_ = w.Stop()
			return nil, fmt.Errorf("watch %s: initial values not loaded in 30s", subject.BucketApps)
		case <-ctx.Done():
			_ = w.Stop()
			return nil, ctx.Err()
		}
	}
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					idx.apply(ctx, e)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return idx, nil
}

// apply records a watcher update unless a newer revision is known.
func (x *appIndex) apply(ctx context.Context, e jetstream.KeyValueEntry) {
	var entry *registry.Entry
	if e.Operation() == jetstream.KeyValuePut {
		var err error
		if entry, err = registry.UnmarshalEntry(e.Value()); err != nil {
			logging.From(ctx).Warn("ignoring unreadable app entry", "key", e.Key(), "error", err)
			return
		}
	}
	next := x.index(e.Revision(), entry)
	x.mu.Lock()
	defer x.mu.Unlock()
	if cur, ok := x.apps[e.Key()]; ok && cur.rev >= next.rev {
		return
	}
	x.apps[e.Key()] = next
}

// get returns the current entry of name, or nil.
func (x *appIndex) get(name string) (*registry.Entry, uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	cur := x.apps[name]
	return cur.entry, cur.rev
}

// put stores entry in the bucket and the index.
func (x *appIndex) put(ctx context.Context, entry *registry.Entry) error {
	data, err := entry.Marshal()
	if err != nil {
		return err
	}
	rev, err := x.kv.Put(ctx, entry.Name, data)
	if err != nil {
		return fmt.Errorf("store app %q: %w", entry.Name, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if cur, ok := x.apps[entry.Name]; !ok || cur.rev < rev {
		x.apps[entry.Name] = x.index(rev, entry)
	}
	return nil
}

// remove deletes name from the bucket and leaves a tombstone in the index
// at the revision it had, so its old put cannot come back through the watcher.
func (x *appIndex) remove(ctx context.Context, name string, rev uint64) error {
	if err := x.kv.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete app %q: %w", name, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if cur := x.apps[name]; cur.rev <= rev {
		x.apps[name] = indexed{rev: rev}
	}
	return nil
}

// ownedBy returns the apps declared by the platform repository platform.
func (x *appIndex) ownedBy(platform string) map[string]uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := map[string]uint64{}
	for name, cur := range x.apps {
		if cur.entry != nil && repoid.Same(cur.entry.Platform, platform) {
			out[name] = cur.rev
		}
	}
	return out
}

// targets returns every app × destination declared by a trusted platform
// repository whose source is the repository push (however the registry
// spells it) and whose effective ref is branch, ordered by app and cluster.
func (x *appIndex) targets(push repoid.ID, branch string) []target {
	x.mu.RLock()
	var out []target
	for _, cur := range x.apps {
		if !cur.rendered || !cur.source.Same(push) {
			continue
		}
		e := cur.entry
		for _, d := range e.Destinations {
			if e.RefFor(d) == branch {
				out = append(out, target{entry: e, dest: d})
			}
		}
	}
	x.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].entry.Name != out[j].entry.Name {
			return out[i].entry.Name < out[j].entry.Name
		}
		return out[i].dest.Cluster < out[j].dest.Cluster
	})
	return out
}

// sourceURL returns the URL to fetch targets' repository from: the first
// (in order) registered spelling of it, or "" when there are no targets.
func sourceURL(targets []target) string {
	if len(targets) == 0 {
		return ""
	}
	urls := make([]string, len(targets))
	for i, t := range targets {
		urls[i] = t.entry.Source.Repo
	}
	return slices.Min(urls)
}
