package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/pkg/fleet"
)

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
	// Outcome of a registry event: accepted, rejected or ignored.
	Outcome string `json:"outcome,omitempty"`
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
	f := fleet.Filter{App: e.app, Cluster: e.cluster}
	if e.follow {
		evs, err := c.Follow(ctx, f, since)
		if err != nil {
			return err
		}
		for ev := range evs {
			if err := e.printEvent(ev); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	// Without --follow: what is stored since --since, in time order.
	ctx, cancel := e.withTimeout(ctx, defaultTimeout)
	defer cancel()
	got, err := c.Events(ctx, f, time.Now().Add(-e.since))
	if err != nil {
		return err
	}
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
	if ev.Registry != nil {
		v.Outcome = fleet.OutcomeName(ev.Registry.GetOutcome())
	}
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
