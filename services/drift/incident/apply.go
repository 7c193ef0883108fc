package incident

import (
	"maps"
	"slices"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
)

// Apply folds o into s and queues the messages it calls for, routed by cfg.
// It reports false, changing nothing, when o was applied before (a
// redelivered message). now is the clock used for quiet windows.
func (s *State) Apply(o Observation, cfg *config.Config, now time.Time) bool {
	if o.Seq > 0 && s.Applied[o.Source] >= o.Seq {
		return false
	}
	if s.Applied == nil {
		s.Applied = map[string]uint64{}
	}
	s.Applied[o.Source] = o.Seq
	if s.Incidents == nil {
		s.Incidents = map[string]*Incident{}
	}
	if s.Open == nil {
		s.Open = map[Kind]string{}
	}
	if o.At.IsZero() {
		o.At = now
	}
	resolvedKind := false
	for _, k := range o.Resolves {
		if inc := s.OpenIncident(k); inc != nil {
			s.resolve(inc, o)
			resolvedKind = resolvedKind || k == o.Kind
		}
	}
	switch {
	case o.Kind == "":
	case o.OneShot && resolvedKind:
		// Corrected drift ends the open drift incident; the resolve says so.
	case o.OneShot:
		inc := s.newIncident(o, cfg)
		inc.OneShot, inc.Resolved, inc.ResolvedAt, inc.Reason = true, true, o.At, o.Reason
		for r := range inc.Routes {
			s.queue(inc.ID, r, OpNotice)
		}
	case s.OpenIncident(o.Kind) != nil:
		s.repeat(s.OpenIncident(o.Kind), o, cfg, now)
	default:
		inc := s.newIncident(o, cfg)
		s.Open[o.Kind] = inc.ID
		for _, r := range slices.Sorted(maps.Keys(inc.Routes)) {
			s.queue(inc.ID, r, OpOpen)
		}
	}
	return true
}

func (s *State) newIncident(o Observation, cfg *config.Config) *Incident {
	inc := &Incident{
		ID: incidentID(s.Cluster, s.App, o.Kind, o.Source, o.Seq, o.At), Kind: o.Kind, Severity: o.Severity,
		OpenedAt: o.At, Routes: map[string]*Delivery{},
	}
	inc.update(o)
	for _, r := range cfg.RoutesFor(s.Cluster, s.App, o.Severity) {
		inc.Routes[r.Name] = &Delivery{}
	}
	s.Incidents[inc.ID] = inc
	return inc
}

func (inc *Incident) update(o Observation) {
	inc.Count++
	inc.LastSeen = o.At
	inc.Revision, inc.RepoURL, inc.TraceID = o.Revision, o.RepoURL, o.TraceID
	inc.Summary, inc.Objects, inc.Diff = o.Summary, o.Objects, o.Diff
	inc.Fingerprint = fingerprint(o)
	if o.Severity.Rank() > inc.Severity.Rank() {
		inc.Severity = o.Severity
	}
}

// repeat handles another sighting of an open incident: Web API routes get
// the first message updated, and a thread reply when the details changed
// and the quiet window has passed; webhook routes get a reminder only after
// the quiet window.
func (s *State) repeat(inc *Incident, o Observation, cfg *config.Config, now time.Time) {
	before := inc.Fingerprint
	inc.update(o)
	quiet := cfg.QuietWindow.D()
	for _, name := range slices.Sorted(maps.Keys(inc.Routes)) {
		d := inc.Routes[name]
		if s.pending(inc.ID, name, OpOpen) {
			continue // the first message is still to go and will carry the latest details
		}
		route, _ := cfg.Route(name)
		quietOver := d.LastNotified.IsZero() || now.Sub(d.LastNotified) >= quiet
		if route.Slack.UsesWebAPI() {
			if !s.pending(inc.ID, name, OpUpdate) {
				s.queue(inc.ID, name, OpUpdate)
			}
			if inc.Fingerprint != before && quietOver && !s.pending(inc.ID, name, OpReply) {
				s.queue(inc.ID, name, OpReply)
			}
			continue
		}
		if quietOver && !s.pending(inc.ID, name, OpReminder) {
			s.queue(inc.ID, name, OpReminder)
		}
	}
}

func (s *State) resolve(inc *Incident, o Observation) {
	inc.Resolved, inc.ResolvedAt, inc.Reason = true, o.At, o.Reason
	if o.Revision != "" {
		inc.Revision, inc.RepoURL = o.Revision, o.RepoURL
	}
	if o.TraceID != "" {
		inc.TraceID = o.TraceID
	}
	delete(s.Open, inc.Kind)
	s.Outbox = slices.DeleteFunc(s.Outbox, func(a Action) bool { return a.Incident == inc.ID && a.Op.Repeat() })
	for _, r := range slices.Sorted(maps.Keys(inc.Routes)) {
		s.queue(inc.ID, r, OpResolve)
	}
}

func (s *State) queue(incident, route string, op Op) {
	s.NextAction++
	s.Outbox = append(s.Outbox, Action{ID: s.NextAction, Incident: incident, Route: route, Op: op})
}

func (s *State) pending(incident, route string, op Op) bool {
	return slices.ContainsFunc(s.Outbox, func(a Action) bool {
		return a.Incident == incident && a.Route == route && a.Op == op
	})
}

// Done removes the first action of the outbox (just delivered or dropped)
// and forgets resolved incidents that have nothing left to send.
func (s *State) Done(id uint64) {
	s.Outbox = slices.DeleteFunc(s.Outbox, func(a Action) bool { return a.ID == id })
	s.Compact()
}

// Compact forgets resolved incidents with no messages left to send.
func (s *State) Compact() {
	for id, inc := range s.Incidents {
		if inc.Resolved && !slices.ContainsFunc(s.Outbox, func(a Action) bool { return a.Incident == id }) {
			delete(s.Incidents, id)
		}
	}
}
