package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// DiffTimeout is how long Diff waits for a worker's answer when ctx has
// no deadline; a worker gives up on a diff after 20 seconds itself.
const DiffTimeout = 30 * time.Second

// ErrDiff reports a diff the worker could not compute; the response's
// Error says why.
var ErrDiff = errors.New("diff failed")

// Diff asks cluster's apply worker, by request/reply on
// ferry.query.<cluster>.diff, how app's live objects differ from its
// desired state (the pinned revision while pinned, else the newest). The
// caller needs no cluster credentials: the worker dry-runs and answers,
// Secret values redacted.
//
// With no worker listening it fails at once with an error wrapping
// ErrNoWorker that says when the worker was last seen. When the worker
// answers that it could not compute the diff, both the response and an
// error wrapping ErrDiff are returned.
func (c *Client) Diff(ctx context.Context, clusterName, app string) (*ferryv1.DiffResponse, error) {
	if err := errors.Join(subject.ValidateName(clusterName), subject.ValidateName(app)); err != nil {
		return nil, fmt.Errorf("diff needs a cluster and an app: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DiffTimeout)
		defer cancel()
	}
	msg, err := events.NewMsg(ctx, subject.Query(clusterName, subject.QueryDiff), &ferryv1.DiffRequest{App: app, RequestedBy: Requester()}, "")
	if err != nil {
		return nil, err
	}
	reply, err := c.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, c.noDiffWorker(ctx, clusterName)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("the worker of cluster %q did not answer the diff of %s in time: it may be overloaded; try again, or look at its logs: %w", clusterName, app, err)
	case err != nil:
		return nil, fmt.Errorf("ask the worker of cluster %q for a diff: %w", clusterName, err)
	}
	res := &ferryv1.DiffResponse{}
	if err := proto.Unmarshal(reply.Data, res); err != nil {
		return nil, fmt.Errorf("decode the diff from cluster %q: %w", clusterName, err)
	}
	if res.GetError() != "" {
		return res, fmt.Errorf("%w: the worker of cluster %q: %s", ErrDiff, clusterName, res.GetError())
	}
	return res, nil
}

// noDiffWorker explains why nobody answered a diff query of clusterName,
// from its heartbeat.
func (c *Client) noDiffWorker(ctx context.Context, clusterName string) error {
	err := c.CheckWorker(ctx, clusterName)
	if errors.Is(err, ErrNoWorker) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: no worker of cluster %q answers diff queries (and its heartbeat could not be read: %v): is its apply worker running?", ErrNoWorker, clusterName, err)
	}
	return fmt.Errorf("%w: the worker of cluster %q sends heartbeats but does not answer diff queries: it may be restarting, or older than this client; upgrade it", ErrNoWorker, clusterName)
}

// Requester names the local operator, user@host, for Command.requested_by
// and DiffRequest.requested_by.
func Requester() string {
	name := "someone"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return name
}
