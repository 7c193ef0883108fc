package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// source is one stream Follow reads.
type source struct {
	kind, stream, filter string
	decode               func(*Event, []byte) error
}

// optional reports whether src is skipped when the NATS lacks its stream:
// FERRY_REGISTRY is newer than the others, and a NATS no service of this
// version ran against has none.
func (src source) optional() bool { return src.stream == subject.StreamRegistry }

// sources are the streams Follow reads for f.
func sources(f Filter) []source {
	all := []source{
		{KindDesired, subject.StreamDesired, subject.DesiredMatching(f.Cluster, f.App), func(e *Event, b []byte) error {
			e.Desired = &ferryv1.DesiredState{}
			if err := proto.Unmarshal(b, e.Desired); err != nil {
				return err
			}
			e.Desired.Manifests = nil
			return nil
		}},
		{KindStatus, subject.StreamStatus, subject.StatusMatching(f.Cluster, f.App), func(e *Event, b []byte) error {
			e.Result = &ferryv1.SyncResult{}
			return proto.Unmarshal(b, e.Result)
		}},
		{KindDrift, subject.StreamDrift, subject.DriftMatching(f.Cluster, f.App), func(e *Event, b []byte) error {
			e.Drift = &ferryv1.DriftEvent{}
			return proto.Unmarshal(b, e.Drift)
		}},
		{KindCommand, subject.StreamCommands, subject.CommandsMatching(f.Cluster, f.App), func(e *Event, b []byte) error {
			e.Command = &ferryv1.Command{}
			return proto.Unmarshal(b, e.Command)
		}},
	}
	if f.App == "" && f.Cluster == "" {
		all = append(all, source{KindPush, subject.StreamGit, subject.AllGit, func(e *Event, b []byte) error {
			e.Push = &ferryv1.PushEvent{}
			return proto.Unmarshal(b, e.Push)
		}}, source{KindRegistry, subject.StreamRegistry, subject.AllRegistry, func(e *Event, b []byte) error {
			e.Registry = &ferryv1.RegistryStatus{}
			return proto.Unmarshal(b, e.Registry)
		}})
	}
	return all
}

// Follow streams the events f selects as they are stored: from since
// when it is set, else only new ones. It reads with ordered consumers, so
// it leaves nothing behind on the server. Events of one stream arrive in
// order; across streams, in about the order they were stored. The
// channel is closed once ctx is done. A message that does not decode is
// delivered as an Event with only Kind, Subject, Seq and At set.
func (c *Client) Follow(ctx context.Context, f Filter, since time.Time) (<-chan Event, error) {
	out := make(chan Event, 64)
	var consumers []jetstream.ConsumeContext
	stopAll := func() {
		for _, cc := range consumers {
			cc.Stop()
		}
	}
	var wg sync.WaitGroup
	for _, src := range sources(f) {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{src.filter}, DeliverPolicy: jetstream.DeliverNewPolicy}
		if !since.IsZero() {
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
		}
		cons, err := c.js.OrderedConsumer(ctx, src.stream, cfg)
		if src.optional() && errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("follow %s (has any Ferry service run against this NATS?): %w", src.stream, err)
		}
		wg.Add(1)
		cc, err := cons.Consume(func(msg jetstream.Msg) {
			ev := eventOf(src, msg)
			select {
			case out <- ev:
			case <-ctx.Done():
			}
		})
		if err != nil {
			wg.Done()
			stopAll()
			return nil, fmt.Errorf("follow %s: %w", src.stream, err)
		}
		consumers = append(consumers, cc)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			cc.Stop()
			<-cc.Closed()
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, nil
}

// eventOf decodes msg of src.
func eventOf(src source, msg jetstream.Msg) Event {
	ev := Event{Kind: src.kind, Subject: msg.Subject(), TraceID: TraceIDFrom(msg.Headers().Get("traceparent"))}
	if meta, err := msg.Metadata(); err == nil {
		ev.Seq, ev.At = meta.Sequence.Stream, meta.Timestamp
	}
	if src.kind != KindPush && src.kind != KindRegistry {
		ev.Cluster, ev.App, _ = subject.ClusterApp(msg.Subject())
	}
	if err := src.decode(&ev, msg.Data()); err != nil {
		ev.Push, ev.Desired, ev.Result, ev.Drift, ev.Command, ev.Registry = nil, nil, nil, nil, nil, nil
	}
	return ev
}

// Summary is a one-line, human-readable account of e, without its time.
func (e Event) Summary() string {
	where := e.Cluster + "/" + e.App
	switch {
	case e.Push != nil:
		p := e.Push
		return fmt.Sprintf("push     %s %s %s by %s (%s, %d commits)", cmp.Or(p.GetRepoName(), p.GetRepoKey()),
			strings.TrimPrefix(p.GetRef(), "refs/heads/"), Short(p.GetAfter()), cmp.Or(p.GetPusher(), "?"), p.GetProvider(), len(p.GetCommits()))
	case e.Desired != nil:
		d := e.Desired
		if d.GetDeleted() {
			return fmt.Sprintf("desired  %s deleted from the registry at %s", where, Short(d.GetRevision()))
		}
		return fmt.Sprintf("desired  %s %s rendered (%s, %s)%s", where, Short(d.GetRevision()), cmp.Or(d.GetTool(), "plain"),
			shortDigest(d.GetDigest()), commitNote(d.GetCommit()))
	case e.Result != nil:
		return "status   " + where + " " + ResultSummary(e.Result)
	case e.Drift != nil:
		return "drift    " + where + " " + DriftSummary(e.Drift)
	case e.Command != nil:
		c := e.Command
		verb := VerbName(c.GetVerb())
		if c.GetRevision() != "" {
			verb += " to " + Short(c.GetRevision())
		}
		return fmt.Sprintf("command  %s %s requested by %s", where, verb, cmp.Or(c.GetRequestedBy(), "someone"))
	case e.Registry != nil:
		return RegistrySummary(e.Registry, strings.TrimPrefix(e.Subject, subject.Registry("")))
	}
	return fmt.Sprintf("%-8s %s seq %d (undecodable)", e.Kind, e.Subject, e.Seq)
}

func commitNote(c *ferryv1.Commit) string {
	if c.GetMessage() == "" {
		return ""
	}
	return fmt.Sprintf(" %q by %s", c.GetMessage(), cmp.Or(c.GetAuthor(), "?"))
}
