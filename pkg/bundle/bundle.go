// Package bundle moves rendered manifests between render and the apply
// workers: small bundles travel inside the DesiredState message, large ones
// go to the cluster's object store (ferry-bundles-<cluster>) keyed by
// digest, so a worker's permissions can reach only its own cluster's.
package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"

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

// ErrTooLarge reports a bundle over the size a reader accepts.
var ErrTooLarge = errors.New("bundle too large")

// Load returns the manifests of ds, from the message or the object store,
// and checks them against ds.Digest.
func Load(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState) ([]byte, error) {
	return LoadMax(ctx, js, ds, 0)
}

// Size returns the size of ds's manifests without reading them: the
// inline bytes, or the object's size in the object store.
func Size(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState) (int64, error) {
	if ds.GetBundle() == "" {
		return int64(len(ds.GetManifests())), nil
	}
	store, err := openStore(ctx, js, ds)
	if err != nil {
		return 0, err
	}
	info, err := store.GetInfo(ctx, ds.GetBundle())
	if err != nil {
		return 0, fmt.Errorf("look up bundle %s: %w", ds.GetBundle(), err)
	}
	return int64(info.Size), nil
}

// LoadMax is Load for a reader that accepts at most max bytes (no limit
// when max <= 0): a larger bundle is an ErrTooLarge error before any of
// it is read. A stored bundle is read into one buffer of its size.
func LoadMax(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState, max int64) ([]byte, error) {
	data := ds.GetManifests()
	if ds.GetBundle() == "" && max > 0 && int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %d bytes in the message, over the limit of %d", ErrTooLarge, len(data), max)
	}
	if ds.GetBundle() != "" {
		var err error
		if data, err = loadStored(ctx, js, ds, max); err != nil {
			return nil, err
		}
	}
	if ds.GetDigest() != "" && manifest.Digest(data) != ds.GetDigest() {
		return nil, fmt.Errorf("bundle digest mismatch: message says %s, content is %s", ds.GetDigest(), manifest.Digest(data))
	}
	return data, nil
}

// loadStored reads ds's bundle from the object store after checking its
// size against max.
func loadStored(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState, max int64) ([]byte, error) {
	store, err := openStore(ctx, js, ds)
	if err != nil {
		return nil, err
	}
	key := ds.GetBundle()
	info, err := store.GetInfo(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", key, err)
	}
	if max > 0 && int64(info.Size) > max {
		return nil, fmt.Errorf("%w: bundle %s is %d bytes, over the limit of %d", ErrTooLarge, key, info.Size, max)
	}
	obj, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", key, err)
	}
	defer obj.Close()
	// One buffer of the announced size, and one byte more to notice an
	// object that grew (a bytes.Buffer would allocate about twice).
	data := make([]byte, info.Size+1)
	n, err := io.ReadFull(obj, data)
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		if err == nil {
			err = fmt.Errorf("%w: bundle %s is longer than its %d bytes", ErrTooLarge, key, info.Size)
		}
		return nil, fmt.Errorf("load bundle %s: %w", key, err)
	}
	return data[:n], nil
}

func openStore(ctx context.Context, js jetstream.JetStream, ds *ferryv1.DesiredState) (jetstream.ObjectStore, error) {
	name := subject.Bundles(ds.GetCluster())
	store, err := js.ObjectStore(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", name, err)
	}
	return store, nil
}
