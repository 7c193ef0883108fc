package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// historyBatch is how many revisions one fetch of the history reads.
const historyBatch = 32

// historyEntry is one desired state of an app in FERRY_DESIRED.
type historyEntry struct {
	seq uint64
	ds  *ferryv1.DesiredState
	// copied is set on states a command republished (cluster.HeaderCommand).
	copied bool
}

// history reads every desired state of app the stream still keeps, oldest
// first, through the cluster's history consumer: a consumer whose name
// and filter the worker's NATS permissions allow, unlike a direct get by
// sequence, which could read any cluster's messages.
func (c *control) history(ctx context.Context, app string) ([]historyEntry, error) {
	c.historyMu.Lock()
	defer c.historyMu.Unlock()
	js, name := c.w.js, subject.HistoryConsumer(c.w.opts.Cluster)
	if err := js.DeleteConsumer(ctx, subject.StreamDesired, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("reset history consumer: %w", err)
	}
	cons, err := js.CreateConsumer(ctx, subject.StreamDesired, jetstream.ConsumerConfig{
		Name: name, FilterSubject: subject.Desired(c.w.opts.Cluster, app),
		DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckNonePolicy,
		MemoryStorage: true, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", app, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		_ = js.DeleteConsumer(dctx, subject.StreamDesired, name)
	}()
	pending := cons.CachedInfo().NumPending
	var out []historyEntry
	for read := uint64(0); read < pending; {
		batch, err := cons.Fetch(int(min(pending-read, historyBatch)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", app, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			ds := &ferryv1.DesiredState{}
			if err != nil || proto.Unmarshal(msg.Data(), ds) != nil {
				continue // unreadable: never a rollback target
			}
			out = append(out, historyEntry{seq: meta.Sequence.Stream, ds: ds, copied: msg.Headers().Get(cluster.HeaderCommand) != ""})
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("read history of %s: %w", app, err)
		}
		if n == 0 {
			break
		}
		read += uint64(n)
	}
	return out, nil
}

// newest returns the newest revision in h; with rendered, the newest one
// render published, skipping commands' republished copies (falling back to
// any when the history holds copies only).
func newest(h []historyEntry, rendered bool) *historyEntry {
	for i := len(h) - 1; i >= 0; i-- {
		if !rendered || !h[i].copied {
			return &h[i]
		}
	}
	if rendered && len(h) > 0 {
		return &h[len(h)-1]
	}
	return nil
}

// find returns the newest revision in h whose revision is rev, or starts
// with it when rev is an abbreviated commit of at least 7 characters that
// names one revision only; with digest set, the digest must match too.
func find(h []historyEntry, rev, digest string) *historyEntry {
	var match *historyEntry
	for i := len(h) - 1; i >= 0; i-- {
		r := &h[i]
		if digest != "" && r.ds.GetDigest() != digest {
			continue
		}
		if r.ds.GetRevision() == rev {
			return r
		}
		if len(rev) >= 7 && strings.HasPrefix(r.ds.GetRevision(), rev) {
			if match != nil && match.ds.GetRevision() != r.ds.GetRevision() {
				return nil // ambiguous
			}
			if match == nil {
				match = r
			}
		}
	}
	return match
}

// republish puts target's desired state on app's subject again, marked as
// the command's, to be applied through the consumer and the app's queue.
// msgID dedupes a command redelivered after it republished.
func (c *control) republish(ctx context.Context, app string, target *historyEntry, info commandInfo, msgID string) error {
	ds := proto.Clone(target.ds).(*ferryv1.DesiredState)
	ds.PushId, ds.ReceivedUnixNano = "", time.Now().UnixNano()
	msg, err := events.NewMsg(ctx, subject.Desired(c.w.opts.Cluster, app), ds, msgID)
	if err != nil {
		return err
	}
	msg.Header.Set(cluster.HeaderCommand, info.id)
	msg.Header.Set(cluster.HeaderVerb, info.verb)
	if info.by != "" {
		msg.Header.Set(cluster.HeaderRequestedBy, info.by)
	}
	if _, err := c.w.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("queue revision %s of %s: %w", ds.GetRevision(), app, err)
	}
	return nil
}
