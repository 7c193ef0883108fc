package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/subject"
)

// Bucket is the JetStream KV bucket holding one State per cluster and app.
const Bucket = subject.BucketIncidents

// ErrConflict reports that the state changed since it was read; read it
// again and reapply.
var ErrConflict = errors.New("incident state changed concurrently")

// Store keeps States in the KV bucket, one key per cluster and app, with
// optimistic concurrency on the key's revision.
type Store struct {
	kv jetstream.KeyValue
}

// OpenStore creates or updates the bucket and returns a Store on it.
func OpenStore(ctx context.Context, js jetstream.JetStream, storage jetstream.StorageType) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "open incidents and undelivered alerts per cluster and app",
		History: 1, Storage: storage,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure kv %s: %w", Bucket, err)
	}
	return &Store{kv: kv}, nil
}

func key(cluster, app string) string { return cluster + "." + app }

// Get returns the state of cluster/app and its revision; a missing key is
// an empty state at revision 0.
func (s *Store) Get(ctx context.Context, cluster, app string) (*State, uint64, error) {
	e, err := s.kv.Get(ctx, key(cluster, app))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return NewState(cluster, app), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get incident state %s: %w", key(cluster, app), err)
	}
	st := NewState(cluster, app)
	if err := json.Unmarshal(e.Value(), st); err != nil {
		return nil, 0, fmt.Errorf("decode incident state %s: %w", key(cluster, app), err)
	}
	return st, e.Revision(), nil
}

// Put writes st if the key is still at rev (0: must not exist) and returns
// the new revision; ErrConflict when someone else wrote in between.
func (s *Store) Put(ctx context.Context, st *State, rev uint64) (uint64, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("encode incident state: %w", err)
	}
	k := key(st.Cluster, st.App)
	var n uint64
	if rev == 0 {
		n, err = s.kv.Create(ctx, k, data)
	} else {
		n, err = s.kv.Update(ctx, k, data, rev)
	}
	if isConflict(err) {
		return 0, fmt.Errorf("put incident state %s: %w", k, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("put incident state %s: %w", k, err)
	}
	return n, nil
}

func isConflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
