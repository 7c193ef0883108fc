package web

import (
	"cmp"
	"slices"
	"time"

	"github.com/ferrycd/ferry/pkg/cluster"
	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// The view models: what each page shows, joined from the read model.

// gridView is the home page: every app × every cluster.
type gridView struct {
	Clusters []clusterHead
	Rows     []gridRow
}

// clusterHead is a grid column: a cluster and whether its worker is alive.
type clusterHead struct {
	// Known is false for a cluster that has deployments but never sent a
	// heartbeat: only its Name is set.
	Known bool
	fleet.Cluster
}

// gridRow is one app; Cells[i] is its deployment in Clusters[i], nil where
// it is not deployed.
type gridRow struct {
	App   string
	Cells []*fleet.Deployment
}

func newGrid(deps []fleet.Deployment, clusters []fleet.Cluster) gridView {
	var g gridView
	seen := map[string]int{}
	for _, c := range clusters {
		seen[c.Name] = len(g.Clusters)
		g.Clusters = append(g.Clusters, clusterHead{Known: true, Cluster: c})
	}
	for _, d := range deps {
		if _, ok := seen[d.Cluster]; !ok {
			seen[d.Cluster] = len(g.Clusters)
			g.Clusters = append(g.Clusters, clusterHead{Cluster: fleet.Cluster{Name: d.Cluster}})
		}
	}
	slices.SortFunc(g.Clusters, func(a, b clusterHead) int { return cmp.Compare(a.Name, b.Name) })
	for i, c := range g.Clusters {
		seen[c.Name] = i
	}
	rows := map[string]*gridRow{}
	for i := range deps {
		d := &deps[i]
		r := rows[d.App]
		if r == nil {
			r = &gridRow{App: d.App, Cells: make([]*fleet.Deployment, len(g.Clusters))}
			rows[d.App] = r
		}
		r.Cells[seen[d.Cluster]] = d
	}
	for _, r := range rows {
		g.Rows = append(g.Rows, *r)
	}
	slices.SortFunc(g.Rows, func(a, b gridRow) int { return cmp.Compare(a.App, b.App) })
	return g
}

// appView is one app's page.
type appView struct {
	App     string
	Dests   []*fleet.Deployment
	History []historyRow
	// Clusters are the history's columns.
	Clusters []string
	// Removals are the app's removals from the registry, newest first:
	// desired states with deleted set, each with the prune's result. They
	// are not history rows, as no rollback returns to them.
	Removals []fleet.Revision
	// Result is the answer to the command this page was redirected from.
	Result *commandResult
}

// historyRow is one revision of the app, with what each cluster made of it.
type historyRow struct {
	Revision string
	Rev      fleet.Revision // the newest entry, for commit and time
	Cells    []historyCell
}

// historyCell is one revision in one cluster.
type historyCell struct {
	Cluster string
	// Rev is the newest desired state of the revision in the cluster; nil
	// when the cluster never had it.
	Rev *fleet.Revision
	// Running is set for the revision the cluster runs now.
	Running bool
}

// newAppView groups the history by revision, newest first.
func newAppView(app string, deps []fleet.Deployment, hist []fleet.Revision) appView {
	v := appView{App: app}
	col := map[string]int{}
	running := map[string]string{}
	addColumn := func(cluster string) {
		if _, ok := col[cluster]; !ok {
			col[cluster] = len(v.Clusters)
			v.Clusters = append(v.Clusters, cluster)
		}
	}
	for i := range deps {
		v.Dests = append(v.Dests, &deps[i])
		running[deps[i].Cluster] = deps[i].Revision()
		addColumn(deps[i].Cluster)
	}
	for _, r := range hist {
		addColumn(r.Cluster)
	}
	byRev := map[string]int{}
	for i := range hist {
		r := &hist[i]
		rev := r.Desired.GetRevision()
		if r.Desired.GetDeleted() {
			v.Removals = append(v.Removals, *r)
			continue
		}
		if rev == "" {
			continue
		}
		idx, ok := byRev[rev]
		if !ok {
			idx = len(v.History)
			byRev[rev] = idx
			row := historyRow{Revision: rev, Rev: *r, Cells: make([]historyCell, len(v.Clusters))}
			for c, name := range v.Clusters {
				row.Cells[c] = historyCell{Cluster: name, Running: running[name] == rev}
			}
			v.History = append(v.History, row)
		}
		cell := &v.History[idx].Cells[col[r.Cluster]]
		if cell.Rev == nil { // newest first: keep the newest entry
			cell.Rev = r
		}
	}
	return v
}

// clusterView is one cluster's page.
type clusterView struct {
	Name string
	// Cluster is nil when its worker never sent a heartbeat.
	Cluster *fleet.Cluster
	Apps    []clusterApp
}

// clusterApp is one app in the cluster: what the worker last applied and
// what Ferry knows of its deployment.
type clusterApp struct {
	Name       string
	Applied    cluster.AppStatus
	Deployment *fleet.Deployment
}

// Revision is the last revision applied successfully: the heartbeat's,
// else that of the newest successful result.
func (a clusterApp) Revision() string {
	if a.Applied.Revision != "" {
		return a.Applied.Revision
	}
	if r := a.result(); r != nil {
		return r.GetRevision()
	}
	return ""
}

// PinnedTo is the revision a rollback pinned the app to: from the
// operator controls in KV, which are current, else from the heartbeat.
func (a clusterApp) PinnedTo() string {
	if a.Deployment != nil {
		if p := a.Deployment.Control.Pinned; p != nil {
			return p.Revision
		}
		return ""
	}
	return a.Applied.PinnedTo
}

// Suspended reports whether automated sync of the app is suspended.
func (a clusterApp) Suspended() bool {
	if a.Deployment != nil {
		return a.Deployment.Control.Suspended != nil
	}
	return a.Applied.Suspended
}

// result is the deployment's newest result when it succeeded.
func (a clusterApp) result() *ferryv1.SyncResult {
	if a.Deployment == nil || a.Deployment.Result.GetPhase() != ferryv1.Phase_PHASE_SUCCEEDED {
		return nil
	}
	return a.Deployment.Result
}

// AppliedAt is when Revision was applied.
func (a clusterApp) AppliedAt() time.Time {
	if a.Applied.Revision != "" {
		return a.Applied.AppliedAt
	}
	if r := a.result(); r != nil {
		return unixNano(r.GetFinishedUnixNano())
	}
	return time.Time{}
}

func newClusterView(name string, cl *fleet.Cluster, deps []fleet.Deployment) clusterView {
	v := clusterView{Name: name, Cluster: cl}
	apps := map[string]*clusterApp{}
	if cl != nil {
		for app, st := range cl.Heartbeat.Apps {
			apps[app] = &clusterApp{Name: app, Applied: st}
		}
	}
	for i := range deps {
		a := apps[deps[i].App]
		if a == nil {
			a = &clusterApp{Name: deps[i].App}
			apps[a.Name] = a
		}
		a.Deployment = &deps[i]
	}
	for _, a := range apps {
		v.Apps = append(v.Apps, *a)
	}
	slices.SortFunc(v.Apps, func(a, b clusterApp) int { return cmp.Compare(a.Name, b.Name) })
	return v
}
