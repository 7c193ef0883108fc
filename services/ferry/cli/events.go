package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/pkg/fleet"
)

// eventsIdle is how long `ferry events` without --follow waits for one
// more stored event before it decides it has read them all.
const eventsIdle = 500 * time.Millisecond

// eventView is one event in -o json (one object per line) or yaml.
type eventView struct {
	Time    string `json:"time"`
	Kind    string `json:"kind"`
	Cluster string `json:"cluster,omitempty"`
	App     string `json:"app,omitempty"`
	Subject string `json:"subject"`
	Seq     uint64 `json:"seq"`
	TraceID string `json:"traceId,omitempty"`
	Summary string `json:"summary"`
}

// runEvents is `ferry events [--follow] [--app A] [--cluster C] [--since D]`.
func runEvents(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("events takes no arguments (filter with --app and --cluster), got %q", args)
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	var since time.Time
	if e.since > 0 {
		since = time.Now().Add(-e.since)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs, err := c.Follow(ctx, fleet.Filter{App: e.app, Cluster: e.cluster}, since)
	if err != nil {
		return err
	}
	if e.follow {
		for ev := range evs {
			if err := e.printEvent(ev); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	// Without --follow: what is stored since --since, in time order.
	var got []fleet.Event
	limit := time.After(cmp.Or(e.timeout, defaultTimeout))
	idle := time.NewTimer(eventsIdle)
	defer idle.Stop()
read:
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				break read
			}
			got = append(got, ev)
			idle.Reset(eventsIdle)
		case <-idle.C:
			break read
		case <-limit:
			break read
		}
	}
	cancel()
	slices.SortStableFunc(got, func(a, b fleet.Event) int { return a.At.Compare(b.At) })
	if len(got) == 0 && !e.structured() {
		fmt.Fprintf(e.out, "No events in the last %s; ferry events --follow waits for new ones.\n", e.since)
	}
	for _, ev := range got {
		if err := e.printEvent(ev); err != nil {
			return err
		}
	}
	return nil
}

// printEvent writes one event as a line, a JSON line or a YAML document.
func (e *env) printEvent(ev fleet.Event) error {
	v := eventView{Time: ev.At.UTC().Format(time.RFC3339Nano), Kind: ev.Kind, Cluster: ev.Cluster, App: ev.App,
		Subject: ev.Subject, Seq: ev.Seq, TraceID: ev.TraceID, Summary: ev.Summary()}
	switch e.output {
	case "json":
		return json.NewEncoder(e.out).Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("render yaml: %w", err)
		}
		_, err = fmt.Fprintf(e.out, "---\n%s", b)
		return err
	}
	line := ev.At.Local().Format("15:04:05.000") + "  " + v.Summary
	if e.output == "wide" && v.TraceID != "" {
		line += "  trace=" + v.TraceID
	}
	_, err := fmt.Fprintln(e.out, line)
	return err
}
