package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
)

// clusterView is one cluster in -o json|yaml; its fields are stable.
type clusterView struct {
	Cluster   string `json:"cluster"`
	Alive     bool   `json:"alive"`
	Stopped   bool   `json:"stopped,omitempty"`
	LastSeen  string `json:"lastSeen"`
	StartedAt string `json:"startedAt,omitempty"`
	Version   string `json:"version"`
	Pending   uint64 `json:"pending"`
	Apps      int    `json:"apps"`
}

// renderClusters prints `get clusters`.
func (e *env) renderClusters(ctx context.Context, c *fleet.Client) ([]byte, error) {
	var (
		cls []fleet.Cluster
		err error
	)
	if e.cluster != "" {
		var cl fleet.Cluster
		cl, err = c.Cluster(ctx, e.cluster)
		if errors.Is(err, fleet.ErrNotFound) {
			return nil, fmt.Errorf("%w: no worker of cluster %q has ever sent a heartbeat: start its apply worker", fleet.ErrNotFound, e.cluster)
		}
		if err != nil {
			return nil, err
		}
		cls = []fleet.Cluster{cl}
	} else if cls, err = c.Clusters(ctx); err != nil {
		return nil, err
	}
	views := make([]clusterView, len(cls))
	for i, cl := range cls {
		hb := cl.Heartbeat
		views[i] = clusterView{Cluster: cl.Name, Alive: cl.Alive, Stopped: hb.Stopped, LastSeen: timestamp(cl.LastSeen),
			StartedAt: timestamp(hb.StartedAt), Version: hb.Version, Pending: hb.Pending, Apps: len(hb.Apps)}
	}
	var b bytes.Buffer
	if e.structured() {
		w := *e
		w.out = &b
		err := w.printData(map[string]any{"clusters": views})
		return b.Bytes(), err
	}
	if len(views) == 0 {
		fmt.Fprintln(&b, "No clusters yet: no apply worker has sent a heartbeat. Start one with the apply binary and --cluster NAME.")
		return b.Bytes(), nil
	}
	now := time.Now()
	headers := []string{"CLUSTER", "LAST-SEEN", "VERSION", "PENDING", "APPS"}
	if e.output == "wide" {
		headers = append(headers, "STATUS", "STARTED")
	}
	t := newTable(&b, headers...)
	for i, v := range views {
		row := []string{v.Cluster, age(now, cls[i].LastSeen), v.Version, fmt.Sprint(v.Pending), fmt.Sprint(v.Apps)}
		if e.output == "wide" {
			status := "alive"
			if v.Stopped {
				status = "stopped"
			} else if !v.Alive {
				status = "gone"
			}
			row = append(row, status, age(now, cls[i].Heartbeat.StartedAt))
		}
		t.row(row...)
	}
	err = t.flush() // before b.Bytes(): the table is written on flush
	return b.Bytes(), err
}
