package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// objectView is one object of a sync in -o json|yaml.
type objectView struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Health    string `json:"health,omitempty"`
	Message   string `json:"message,omitempty"`
}

// viewObject is o as -o json|yaml shows it.
func viewObject(o *ferryv1.ObjectResult) objectView {
	r := o.GetRef()
	return objectView{Group: r.GetGroup(), Version: r.GetVersion(), Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName(),
		Action: fleet.ActionName(o.GetAction()), Health: fleet.HealthName(o.GetHealth()), Message: o.GetMessage()}
}

// destinationView is one app in one cluster with its objects.
type destinationView struct {
	appView
	Objects []objectView `json:"objects"`
	Drift   string       `json:"drift,omitempty"`
}

// runStatus is `ferry status APP [--cluster C]`.
func runStatus(ctx context.Context, e *env, c *fleet.Client, app string) error {
	ds, err := c.Deployments(ctx, fleet.Filter{App: app, Cluster: e.cluster})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return fmt.Errorf("%w: no app %q%s: check the name with ferry get apps", fleet.ErrNotFound, app, inCluster(e.cluster))
	}
	views := make([]destinationView, len(ds))
	for i, d := range ds {
		views[i] = destinationView{appView: viewApp(d), Objects: []objectView{}}
		for _, o := range d.Result.GetObjects() {
			views[i].Objects = append(views[i].Objects, viewObject(o))
		}
		if d.Drifted {
			views[i].Drift = fleet.DriftSummary(d.Drift)
		}
	}
	if e.structured() {
		return e.printData(map[string]any{"app": app, "destinations": views})
	}
	now := time.Now()
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(e.out)
		}
		if err := printDestination(e.out, now, ds[i], v); err != nil {
			return err
		}
	}
	return nil
}

// printDestination writes one destination's summary and object table.
func printDestination(w io.Writer, now time.Time, d fleet.Deployment, v destinationView) error {
	fmt.Fprintf(w, "App:       %s\nCluster:   %s\nNamespace: %s\n", v.App, v.Cluster, dash(v.Namespace))
	rev := dash(fleet.Short(v.Revision))
	if c := v.Commit; c != nil && c.Message != "" {
		rev += fmt.Sprintf(" %q by %s", c.Message, dash(c.Author))
	}
	fmt.Fprintf(w, "Revision:  %s\n", rev)
	sync := v.Sync
	if !d.ResultAt.IsZero() {
		sync += " (" + age(now, d.ResultAt) + " ago)"
	}
	if p := d.Control.Pinned; p != nil {
		sync += fmt.Sprintf("; pinned to %s by %s (rollback): ferry unpin %s --cluster %s", fleet.Short(p.Revision), dash(p.By), v.App, v.Cluster)
	}
	if s := d.Control.Suspended; s != nil {
		sync += fmt.Sprintf("; automated sync suspended by %s: ferry resume %s --cluster %s", dash(s.By), v.App, v.Cluster)
	}
	fmt.Fprintf(w, "Sync:      %s\nHealth:    %s\n", sync, v.Health)
	if v.Drift != "" {
		fmt.Fprintf(w, "Drift:     %s: ferry diff %s --cluster %s\n", v.Drift, v.App, v.Cluster)
	} else {
		fmt.Fprintln(w, "Drift:     none")
	}
	if v.Message != "" {
		fmt.Fprintf(w, "Message:   %s\n", firstLine(v.Message))
	}
	if v.TraceID != "" {
		fmt.Fprintf(w, "Trace:     %s\n", v.TraceID)
	}
	if len(v.Objects) == 0 {
		fmt.Fprintln(w, "Objects:   none reported yet")
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "KIND", "NAMESPACE", "NAME", "ACTION", "HEALTH", "MESSAGE")
	for _, o := range v.Objects {
		health := o.Health
		if health == "unknown" {
			health = ""
		}
		t.row(o.Kind, o.Namespace, o.Name, o.Action, health, firstLine(o.Message))
	}
	return t.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// revisionView is one revision of an app in one cluster in -o json|yaml.
type revisionView struct {
	Cluster    string      `json:"cluster"`
	Revision   string      `json:"revision"`
	Digest     string      `json:"digest,omitempty"`
	Commit     *commitView `json:"commit,omitempty"`
	RenderedAt string      `json:"renderedAt,omitempty"`
	// Command is set on a revision a worker applied again for an operator command.
	Command bool `json:"command,omitempty"`
	// Removed is set on the desired state that removed the app from the
	// registry (DesiredState.deleted); its result is the prune's.
	Removed bool   `json:"removed,omitempty"`
	Result  string `json:"result,omitempty"`
	Health  string `json:"health,omitempty"`
	Message string `json:"message,omitempty"`
	TraceID string `json:"traceId,omitempty"`
}

// runHistory is `ferry history APP [--cluster C]`.
func runHistory(ctx context.Context, e *env, c *fleet.Client, app string) error {
	revs, err := c.History(ctx, app, fleet.Filter{Cluster: e.cluster})
	if err != nil {
		return err
	}
	if len(revs) == 0 {
		return fmt.Errorf("%w: no revision of %q%s in the desired-state history: check the name with ferry get apps", fleet.ErrNotFound, app, inCluster(e.cluster))
	}
	views := make([]revisionView, len(revs))
	for i, r := range revs {
		ds := r.Desired
		v := revisionView{Cluster: r.Cluster, Revision: ds.GetRevision(), Digest: ds.GetDigest(), Commit: viewCommit(ds.GetCommit()),
			RenderedAt: timestamp(r.At), Command: ds.GetPushId() == "", Removed: ds.GetDeleted(), TraceID: r.TraceID}
		if res := r.Result; res != nil {
			v.Result, v.Message = fleet.PhaseName(res.GetPhase()), res.GetMessage()
			if res.GetHealth() != ferryv1.Health_HEALTH_UNKNOWN {
				v.Health = fleet.HealthName(res.GetHealth())
			}
		}
		views[i] = v
	}
	if e.structured() {
		return e.printData(map[string]any{"app": app, "revisions": views})
	}
	headers := []string{"REVISION", "CLUSTER", "AUTHOR", "TIME", "RESULT", "MESSAGE"}
	if e.output == "wide" {
		headers = append(headers, "DIGEST", "TRACE")
	}
	t := newTable(e.out, headers...)
	for i, v := range views {
		result := v.Result
		if v.Health != "" {
			result += "," + v.Health
		}
		msg, author, when := "", "", revs[i].At
		if v.Commit != nil {
			msg, author = v.Commit.Message, v.Commit.Author
			if ts := revs[i].Desired.GetCommit().GetTimestampUnix(); ts > 0 {
				when = time.Unix(ts, 0)
			}
		}
		if v.Command {
			msg = "(applied again by a command) " + msg
		}
		if v.Removed {
			msg = strings.TrimSpace("(removed from the registry) " + msg)
		}
		row := []string{fleet.Short(v.Revision), v.Cluster, author, timestamp(when), result, msg}
		if e.output == "wide" {
			row = append(row, v.Digest, v.TraceID)
		}
		t.row(row...)
	}
	return t.flush()
}
