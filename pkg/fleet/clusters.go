package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/subject"
)

// missedBeats is how many heartbeat intervals a worker may miss before
// it counts as gone.
const missedBeats = 3

// Clusters returns every cluster whose worker ever sent a heartbeat,
// sorted by name.
func (c *Client) Clusters(ctx context.Context) ([]Cluster, error) {
	kv, err := c.js.KeyValue(ctx, subject.BucketClusters)
	if err != nil {
		return nil, fmt.Errorf("open kv %s (has any Ferry service run against this NATS?): %w", subject.BucketClusters, err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list kv %s: %w", subject.BucketClusters, err)
	}
	var out []Cluster
	for k := range keys.Keys() {
		cl, err := c.clusterFrom(ctx, kv, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	slices.SortFunc(out, func(a, b Cluster) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Cluster returns one cluster's worker heartbeat, or an error wrapping
// ErrNotFound when its worker never sent one.
func (c *Client) Cluster(ctx context.Context, name string) (Cluster, error) {
	kv, err := c.js.KeyValue(ctx, subject.BucketClusters)
	if err != nil {
		return Cluster{}, fmt.Errorf("open kv %s: %w", subject.BucketClusters, err)
	}
	return c.clusterFrom(ctx, kv, name)
}

func (c *Client) clusterFrom(ctx context.Context, kv jetstream.KeyValue, name string) (Cluster, error) {
	e, err := kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Cluster{}, fmt.Errorf("%w: no apply worker for cluster %q has ever sent a heartbeat", ErrNotFound, name)
	}
	if err != nil {
		return Cluster{}, fmt.Errorf("read kv %s/%s: %w", subject.BucketClusters, name, err)
	}
	var hb cluster.Heartbeat
	if err := cluster.Decode(e.Value(), &hb); err != nil {
		return Cluster{}, fmt.Errorf("kv %s/%s: %w", subject.BucketClusters, name, err)
	}
	return Cluster{Name: name, Heartbeat: hb, Alive: hb.Alive(c.now(), missedBeats), LastSeen: hb.SeenAt}, nil
}

// CheckWorker returns nil when cluster's worker is alive, else an error
// wrapping ErrNoWorker that says since when it is gone and what to check.
func (c *Client) CheckWorker(ctx context.Context, name string) error {
	cl, err := c.Cluster(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: no worker for cluster %q has ever been seen: start its apply worker (the apply binary with --cluster %s)", ErrNoWorker, name, name)
	}
	if err != nil {
		return err
	}
	if cl.Alive {
		return nil
	}
	ago := c.now().Sub(cl.LastSeen).Round(time.Second)
	if cl.Heartbeat.Stopped {
		return fmt.Errorf("%w: the worker for cluster %q stopped %s ago: start it again", ErrNoWorker, name, ago)
	}
	return fmt.Errorf("%w: no worker for cluster %q has been seen for %s: is its apply worker running and connected to NATS?", ErrNoWorker, name, ago)
}
