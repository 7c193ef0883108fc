package alerter

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

func TestCountsAndAcksResults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := natsserver.StartForTest(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := stream.Ensure(ctx, js, stream.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	counters := &Counters{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, js, Options{Counters: counters}) }()

	// Wait until the durable exists so DeliverNew sees what follows.
	waitFor(t, func() bool { _, err := js.Consumer(ctx, subject.StreamStatus, Durable); return err == nil })
	for _, p := range []ferryv1.Phase{ferryv1.Phase_PHASE_SUCCEEDED, ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_SUCCEEDED} {
		res := &ferryv1.SyncResult{App: "guestbook", Cluster: "dev", Phase: p}
		if _, err := events.Publish(ctx, js, subject.Status("dev", "guestbook"), res, ""); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		return counters.Get(ferryv1.Phase_PHASE_SUCCEEDED) == 2 && counters.Get(ferryv1.Phase_PHASE_FAILED) == 1
	})
	waitFor(t, func() bool {
		c, err := js.Consumer(ctx, subject.StreamStatus, Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.AckFloor.Stream == 3
	})
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v on shutdown", err)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
