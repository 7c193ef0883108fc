package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// diffView is one cluster's diff of an app in -o json|yaml.
type diffView struct {
	App      string           `json:"app"`
	Cluster  string           `json:"cluster"`
	Revision string           `json:"revision"`
	Digest   string           `json:"digest,omitempty"`
	Objects  []objectDiffView `json:"objects"`
}

// objectDiffView is one object's difference.
type objectDiffView struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Diff      string `json:"diff,omitempty"`
	Message   string `json:"message,omitempty"`
}

// runDiff is `ferry diff APP [--cluster C]`.
func runDiff(ctx context.Context, e *env, c *fleet.Client, app string) error {
	clusters, err := e.clustersOf(ctx, c, app)
	if err != nil {
		return err
	}
	var views []diffView
	for _, cl := range clusters {
		res, err := c.Diff(ctx, cl, app)
		if err != nil {
			return err
		}
		v := diffView{App: app, Cluster: cl, Revision: res.GetRevision(), Digest: res.GetDigest(), Objects: []objectDiffView{}}
		for _, o := range res.GetObjects() {
			r := o.GetRef()
			v.Objects = append(v.Objects, objectDiffView{Group: r.GetGroup(), Version: r.GetVersion(), Kind: r.GetKind(),
				Namespace: r.GetNamespace(), Name: r.GetName(), Action: fleet.ActionName(o.GetAction()),
				Diff: o.GetDiff(), Message: o.GetMessage()})
		}
		views = append(views, v)
	}
	if e.structured() {
		return e.printData(map[string]any{"diffs": views})
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(e.out)
		}
		printDiff(e, v)
	}
	return nil
}

// printDiff writes the changed objects' diffs and a summary line.
func printDiff(e *env, v diffView) {
	counts := map[string]int{}
	for _, o := range v.Objects {
		counts[o.Action]++
		if o.Action == fleet.ActionName(ferryv1.Action_ACTION_UNCHANGED) && o.Message == "" {
			continue
		}
		name := fleet.ObjectName(&ferryv1.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name})
		line := fmt.Sprintf("# %s: %s", name, o.Action)
		if o.Message != "" {
			line += ": " + o.Message
		}
		fmt.Fprintln(e.out, line)
		if o.Diff != "" {
			fmt.Fprint(e.out, o.Diff)
			if !strings.HasSuffix(o.Diff, "\n") {
				fmt.Fprintln(e.out)
			}
		}
	}
	var parts []string
	for _, a := range []ferryv1.Action{ferryv1.Action_ACTION_CREATED, ferryv1.Action_ACTION_CONFIGURED, ferryv1.Action_ACTION_DELETED,
		ferryv1.Action_ACTION_FAILED, ferryv1.Action_ACTION_UNCHANGED} {
		if n := counts[fleet.ActionName(a)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, fleet.ActionName(a)))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no objects")
	}
	changed := len(v.Objects) - counts[fleet.ActionName(ferryv1.Action_ACTION_UNCHANGED)]
	verdict := "live matches desired"
	if changed > 0 {
		verdict = fmt.Sprintf("%d object(s) differ", changed)
	}
	fmt.Fprintf(e.out, "%s in %s at %s: %s (%s)\n", v.App, v.Cluster, dash(fleet.Short(v.Revision)), verdict, strings.Join(parts, ", "))
}

// clustersOf is --cluster, else every cluster app has a desired state
// or a result in.
func (e *env) clustersOf(ctx context.Context, c *fleet.Client, app string) ([]string, error) {
	if e.cluster != "" {
		return []string{e.cluster}, nil
	}
	out, err := c.ClustersOf(ctx, app)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: app %q is deployed to no cluster: check the name with ferry get apps, or name one with --cluster", fleet.ErrNotFound, app)
	}
	return out, nil
}
