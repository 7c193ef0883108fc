package stream

import (
	"context"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/subject"
)

// TestEnsureIdempotentAndConcurrent: every service calls Ensure at start,
// possibly at the same moment; all must succeed and the result is the same.
func TestEnsureIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	srv := natsserver.StartForTest(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- Ensure(ctx, js, DefaultOptions()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Ensure: %v", err)
		}
	}
	if err := Ensure(ctx, js, Options{DesiredHistory: 5}); err != nil {
		t.Fatalf("Ensure with new retention: %v", err)
	}
	s, err := js.Stream(ctx, subject.StreamDesired)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxMsgsPerSubject; got != 5 {
		t.Errorf("desired history = %d after update, want 5", got)
	}
	for _, b := range []string{subject.BucketApps, subject.BucketClusters} {
		if _, err := js.KeyValue(ctx, b); err != nil {
			t.Errorf("kv %s: %v", b, err)
		}
	}
	// The git stream dedupes by message id.
	for range 2 {
		m := nats.NewMsg(subject.GitPush("r"))
		m.Header.Set(jetstream.MsgIDHeader, "delivery-1")
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := js.Stream(ctx, subject.StreamGit)
	info, _ := g.Info(ctx)
	if info.State.Msgs != 1 {
		t.Errorf("FERRY_GIT holds %d messages after a duplicate publish, want 1", info.State.Msgs)
	}
}
