package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// verbs maps subject verb tokens to the proto's verbs.
var verbs = map[string]ferryv1.Verb{
	subject.VerbSync:     ferryv1.Verb_VERB_SYNC,
	subject.VerbRollback: ferryv1.Verb_VERB_ROLLBACK,
	subject.VerbSuspend:  ferryv1.Verb_VERB_SUSPEND,
	subject.VerbResume:   ferryv1.Verb_VERB_RESUME,
	subject.VerbUnpin:    ferryv1.Verb_VERB_UNPIN,
}

// Verb returns the proto verb of a subject verb token (subject.VerbSync,
// ...), or an error naming the verbs there are.
func Verb(token string) (ferryv1.Verb, error) {
	if v, ok := verbs[token]; ok {
		return v, nil
	}
	return ferryv1.Verb_VERB_UNSPECIFIED, fmt.Errorf("unknown verb %q: use sync, rollback, suspend, resume or unpin", token)
}

// tokenOf is the subject token of v.
func tokenOf(v ferryv1.Verb) (string, bool) {
	for t, vv := range verbs {
		if vv == v {
			return t, true
		}
	}
	return "", false
}

// Command publishes cmd (Cluster, App and Verb set; Revision for a
// rollback) on ferry.cmd.<cluster>.<app>.<verb>, where it is stored until
// the cluster's worker takes it. Id and RequestedUnixNano are filled in
// when empty. With progress nil it returns once the command is stored,
// with a nil result. Otherwise it waits for the worker's answers, calls
// progress with each (an apply reports "applied, awaiting health" before
// its final result), and returns the final one, or ctx's error.
//
// A command to a cluster without a live worker is refused with an error
// wrapping ErrNoWorker: it would wait unseen and expire.
func (c *Client) Command(ctx context.Context, cmd *ferryv1.Command, progress func(*ferryv1.SyncResult)) (*ferryv1.SyncResult, error) {
	verb, ok := tokenOf(cmd.GetVerb())
	switch {
	case !ok:
		return nil, fmt.Errorf("command needs a verb: sync, rollback, suspend, resume or unpin")
	case subject.ValidateName(cmd.GetCluster()) != nil || subject.ValidateName(cmd.GetApp()) != nil:
		return nil, fmt.Errorf("command needs a cluster and an app: %w", errors.Join(subject.ValidateName(cmd.GetCluster()), subject.ValidateName(cmd.GetApp())))
	case cmd.GetVerb() == ferryv1.Verb_VERB_ROLLBACK && cmd.GetRevision() == "":
		return nil, fmt.Errorf("rollback needs the revision to go back to: see the app's history")
	}
	if err := c.CheckWorker(ctx, cmd.GetCluster()); err != nil {
		return nil, err
	}
	if cmd.Id == "" {
		cmd.Id = nuid.Next()
	}
	if cmd.RequestedUnixNano == 0 {
		cmd.RequestedUnixNano = c.now().UnixNano()
	}
	var replies chan *nats.Msg
	if progress != nil {
		// Subscribe before publishing: JetStream keeps no reply subject.
		replies = make(chan *nats.Msg, 16)
		sub, err := c.nc.ChanSubscribe(subject.CommandReply(cmd.GetCluster(), cmd.GetId()), replies)
		if err != nil {
			return nil, fmt.Errorf("subscribe to the command's replies: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	if _, err := events.Publish(ctx, c.js, subject.Command(cmd.GetCluster(), cmd.GetApp(), verb), cmd, "cmd-"+cmd.GetId()); err != nil {
		return nil, fmt.Errorf("send %s command: %w", verb, err)
	}
	if progress == nil {
		return nil, nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the worker of %s to answer %s %s (it may still be carried out): %w", cmd.GetCluster(), verb, cmd.GetApp(), ctx.Err())
		case msg := <-replies:
			res := &ferryv1.SyncResult{}
			if _, err := events.Decode(ctx, msg.Header, msg.Data, res); err != nil {
				return nil, fmt.Errorf("command reply: %w", err)
			}
			progress(res)
			if !res.GetAwaitingHealth() {
				return res, nil
			}
		}
	}
}

// DefaultCommandTimeout is how long a caller should wait for a command's
// final result: a health wait of the worker's default 2 minutes and then some.
const DefaultCommandTimeout = 3 * time.Minute
