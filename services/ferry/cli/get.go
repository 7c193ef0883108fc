package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// clusterPoll is how often `get clusters --watch` reads the heartbeats.
const clusterPoll = 2 * time.Second

// watchSettle gathers the events of one change before printing again.
const watchSettle = 150 * time.Millisecond

// runGet is `ferry get apps|clusters`.
func runGet(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("get what? apps or clusters")
	}
	kind, rest := args[0], args[1:]
	var render func(ctx context.Context, c *fleet.Client) ([]byte, error)
	switch kind {
	case "apps", "app":
		if len(rest) > 1 {
			return usagef("get apps takes at most one APP, got %q", rest)
		}
		if len(rest) == 1 {
			e.app = rest[0]
		}
		render = e.renderApps
	case "clusters", "cluster":
		if len(rest) > 1 {
			return usagef("get clusters takes at most one CLUSTER, got %q", rest)
		}
		if len(rest) == 1 {
			e.cluster = rest[0]
		}
		render = e.renderClusters
	default:
		return usagef("cannot get %q: use apps or clusters", kind)
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	once := func() ([]byte, error) {
		rctx, cancel := e.withTimeout(ctx, defaultTimeout)
		defer cancel()
		return render(rctx, c)
	}
	out, err := once()
	if err != nil {
		return err
	}
	if _, err := e.out.Write(out); err != nil || !e.watch {
		return err
	}
	// Stop the watch's readers however the loop below ends.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := e.changes(ctx, c, kind)
	if err != nil {
		return err
	}
	for range changes {
		next, err := once()
		if err != nil {
			return err
		}
		if !bytes.Equal(next, out) {
			out = next
			fmt.Fprintln(e.out)
			if _, err := e.out.Write(out); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// changes signals when what `get kind --watch` shows may have changed:
// on events for apps, on a poll of the heartbeats for clusters. It is
// closed when ctx is done.
func (e *env) changes(ctx context.Context, c *fleet.Client, kind string) (<-chan struct{}, error) {
	out := make(chan struct{})
	if strings.HasPrefix(kind, "cluster") {
		go func() {
			defer close(out)
			t := time.NewTicker(clusterPoll)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					select {
					case out <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return out, nil
	}
	evs, err := c.Follow(ctx, fleet.Filter{App: e.app, Cluster: e.cluster}, time.Time{})
	if err != nil {
		return nil, err
	}
	go func() {
		defer close(out)
		for range evs {
			settle := time.After(watchSettle)
		gather:
			for {
				select {
				case _, ok := <-evs:
					if !ok {
						return
					}
				case <-settle:
					break gather
				}
			}
			select {
			case out <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// appView is one app in one cluster in -o json|yaml; its fields are stable.
type appView struct {
	App       string      `json:"app"`
	Cluster   string      `json:"cluster"`
	Namespace string      `json:"namespace,omitempty"`
	Revision  string      `json:"revision,omitempty"`
	Sync      string      `json:"sync"`
	Health    string      `json:"health"`
	Drifted   bool        `json:"drifted"`
	PinnedTo  string      `json:"pinnedTo,omitempty"`
	Suspended bool        `json:"suspended,omitempty"`
	Message   string      `json:"message,omitempty"`
	Commit    *commitView `json:"commit,omitempty"`
	SyncedAt  string      `json:"syncedAt,omitempty"`
	DesiredAt string      `json:"desiredAt,omitempty"`
	TraceID   string      `json:"traceId,omitempty"`
}

// commitView is a commit in -o json|yaml.
type commitView struct {
	ID      string `json:"id,omitempty"`
	Message string `json:"message,omitempty"`
	Author  string `json:"author,omitempty"`
	Time    string `json:"time,omitempty"`
}

func viewCommit(c *ferryv1.Commit) *commitView {
	if c == nil {
		return nil
	}
	v := &commitView{ID: c.GetId(), Message: c.GetMessage(), Author: c.GetAuthor()}
	if c.GetTimestampUnix() > 0 {
		v.Time = timestamp(time.Unix(c.GetTimestampUnix(), 0))
	}
	return v
}

func viewApp(d fleet.Deployment) appView {
	v := appView{App: d.App, Cluster: d.Cluster, Namespace: d.Namespace, Revision: d.Revision(),
		Sync: string(d.Sync), Health: healthWord(d.Health), Drifted: d.Drifted,
		Message: d.Result.GetMessage(), Commit: viewCommit(d.Desired.GetCommit()),
		SyncedAt: timestamp(d.ResultAt), DesiredAt: timestamp(d.DesiredAt), TraceID: d.TraceID}
	if p := d.Control.Pinned; p != nil {
		v.PinnedTo = p.Revision
	}
	v.Suspended = d.Control.Suspended != nil
	return v
}

// healthWord is a health as a table shows it: Healthy, Degraded, ...
func healthWord(h ferryv1.Health) string {
	w := fleet.HealthName(h)
	return strings.ToUpper(w[:1]) + w[1:]
}

// syncWord is the SYNC column: the state, and the operator's holds.
func syncWord(v appView) string {
	s := v.Sync
	if v.PinnedTo != "" {
		s += ",Pinned"
	}
	if v.Suspended {
		s += ",Suspended"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// notListed is the error of `get apps APP` when APP is not listed: that
// it was removed from the registry when its newest desired state says so,
// else that Ferry does not know it.
func (e *env) notListed(ctx context.Context, c *fleet.Client) error {
	removed, err := c.Deployments(ctx, fleet.Filter{App: e.app, Cluster: e.cluster, Removed: true})
	if err != nil {
		return err
	}
	if len(removed) > 0 {
		d := removed[0]
		return fmt.Errorf("%w: app %q was removed from the platform repository's ferry.yaml at %s (%s): ferry history %s shows it",
			fleet.ErrNotFound, e.app, fleet.Short(d.Desired.GetRevision()), d.Cluster, e.app)
	}
	return fmt.Errorf("%w: no app %q%s: check the name with ferry get apps, and that its ferry.yaml was pushed", fleet.ErrNotFound, e.app, inCluster(e.cluster))
}

// renderApps prints `get apps`.
func (e *env) renderApps(ctx context.Context, c *fleet.Client) ([]byte, error) {
	ds, err := c.Deployments(ctx, fleet.Filter{App: e.app, Cluster: e.cluster})
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 && e.app != "" {
		return nil, e.notListed(ctx, c)
	}
	rejections, err := c.RegistryRejections(ctx)
	if err != nil {
		return nil, err
	}
	views := make([]appView, len(ds))
	for i, d := range ds {
		views[i] = viewApp(d)
	}
	var b bytes.Buffer
	if e.structured() {
		w := *e
		w.out = &b
		data := map[string]any{"apps": views}
		if len(rejections) > 0 {
			data["registryRejections"] = viewRejections(rejections)
		}
		err := w.printData(data)
		return b.Bytes(), err
	}
	// A rejected ferry.yaml first: the table shows the registry still in
	// force, not the one just pushed.
	for _, r := range rejections {
		fmt.Fprintln(&b, "! "+r.Banner())
	}
	if len(views) == 0 {
		fmt.Fprintln(&b, "No apps yet: push a ferry.yaml to the platform repository.")
		return b.Bytes(), nil
	}
	now := time.Now()
	headers := []string{"APP", "CLUSTER", "REVISION", "SYNC", "HEALTH", "DRIFT", "AGE"}
	if e.output == "wide" {
		headers = append(headers, "NAMESPACE", "COMMIT", "MESSAGE")
	}
	t := newTable(&b, headers...)
	for i, v := range views {
		at := ds[i].ResultAt
		if at.IsZero() {
			at = ds[i].DesiredAt
		}
		row := []string{v.App, v.Cluster, fleet.Short(v.Revision), syncWord(v), v.Health, yesNo(v.Drifted), age(now, at)}
		if e.output == "wide" {
			row = append(row, v.Namespace, v.Commit.message(), firstLine(v.Message))
		}
		t.row(row...)
	}
	err = t.flush() // before b.Bytes(): the table is written on flush
	return b.Bytes(), err
}

func (c *commitView) message() string {
	if c == nil {
		return ""
	}
	return c.Message
}

// inCluster is " in cluster C" when c is set.
func inCluster(c string) string {
	if c == "" {
		return ""
	}
	return " in cluster " + c
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
