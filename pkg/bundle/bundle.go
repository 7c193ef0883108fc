// Package bundle moves rendered manifests between render and the apply
// workers: small bundles travel inside the DesiredState message, large ones
// go to the cluster's object store (ferry-bundles-<cluster>) keyed by
// digest, so a worker's permissions can reach only its own cluster's.
package bundle

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/manifest"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// InlineLimit is the largest bundle carried inside a message.
const InlineLimit = 512 << 10

// Attach sets ds.Digest and either ds.Manifests or, above InlineLimit,
// stores data in the object store and sets ds.Bundle.
func Attach(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState, data []byte) error {
	ds.Digest = manifest.Digest(data)
	if len(data) <= InlineLimit {
		ds.Manifests, ds.Bundle = data, ""
		return nil
	}
	name := subject.Bundles(ds.GetCluster())
	store, err := js.ObjectStore(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		store, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: name, Description: "rendered bundles of cluster " + ds.GetCluster() + " by digest",
		})
	}
	if err != nil {
		return fmt.Errorf("open object store %s: %w", name, err)
	}
	key := ds.Digest
	if _, err := store.GetInfo(ctx, key); errors.Is(err, jetstream.ErrObjectNotFound) {
		if _, err := store.PutBytes(ctx, key, data); err != nil {
			return fmt.Errorf("store bundle %s: %w", key, err)
		}
	} else if err != nil {
		return fmt.Errorf("look up bundle %s: %w", key, err)
	}
	ds.Manifests, ds.Bundle = nil, key
	return nil
}

// Load returns the manifests of ds, from the message or the object store,
// and checks them against ds.Digest.
func Load(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState) ([]byte, error) {
	data := ds.GetManifests()
	if ds.GetBundle() != "" {
		name := subject.Bundles(ds.GetCluster())
		store, err := js.ObjectStore(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("open object store %s: %w", name, err)
		}
		data, err = store.GetBytes(ctx, ds.GetBundle())
		if err != nil {
			return nil, fmt.Errorf("load bundle %s: %w", ds.GetBundle(), err)
		}
	}
	if ds.GetDigest() != "" && manifest.Digest(data) != ds.GetDigest() {
		return nil, fmt.Errorf("bundle digest mismatch: message says %s, content is %s", ds.GetDigest(), manifest.Digest(data))
	}
	return data, nil
}
