package incident

import (
	"testing"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
)

func testConfig() *config.Config {
	c := &config.Config{Routes: []config.Route{
		{Name: "hook", Slack: config.Slack{WebhookURL: "https://hooks.example.com/x"}},
		{Name: "bot", Slack: config.Slack{Channel: "C1", TokenEnv: "T"}},
	}}
	c.SetDefaults()
	return c
}

func ops(s *State) []string {
	var out []string
	for _, a := range s.Outbox {
		out = append(out, a.Route+":"+string(a.Op))
	}
	return out
}

func drift(seq uint64, diff string) Observation {
	return Observation{Source: "FERRY_DRIFT", Seq: seq, Cluster: "prod", App: "gb", Kind: KindDrift,
		Severity: config.SeverityWarning, Diff: diff}
}

func TestApplyOpensRepeatsAndResolves(t *testing.T) {
	cfg, now := testConfig(), time.Unix(1000, 0)
	s := NewState("prod", "gb")
	if !s.Apply(drift(1, "a"), cfg, now) {
		t.Fatal("first observation not applied")
	}
	if got := ops(s); len(got) != 2 || got[0] != "bot:open" || got[1] != "hook:open" {
		t.Fatalf("outbox %v", got)
	}
	if s.Apply(drift(1, "a"), cfg, now) {
		t.Error("redelivered observation applied twice")
	}
	// Deliver the opens.
	for len(s.Outbox) > 0 {
		a := s.Outbox[0]
		s.Incident(a.Incident).Routes[a.Route].LastNotified = now
		s.Done(a.ID)
	}
	s.Apply(drift(2, "a"), cfg, now.Add(time.Minute))
	s.Apply(drift(3, "b"), cfg, now.Add(2*time.Minute))
	if got := ops(s); len(got) != 1 || got[0] != "bot:update" {
		t.Errorf("repeats in the quiet window: %v, want one coalesced bot update", got)
	}
	s.Apply(drift(4, "c"), cfg, now.Add(11*time.Minute))
	if got := ops(s); len(got) != 3 || got[1] != "bot:reply" || got[2] != "hook:reminder" {
		t.Errorf("repeat after the quiet window: %v", got)
	}
	if inc := s.OpenIncident(KindDrift); inc == nil || inc.Count != 4 {
		t.Fatalf("open incident %+v", inc)
	}
	s.Apply(Observation{Source: "FERRY_STATUS", Seq: 1, Cluster: "prod", App: "gb",
		Resolves: []Kind{KindFailed, KindDrift}, Reason: "synced"}, cfg, now.Add(12*time.Minute))
	if got := ops(s); len(got) != 2 || got[0] != "bot:resolve" || got[1] != "hook:resolve" {
		t.Errorf("resolve: %v, want pending repeats dropped and two resolves", got)
	}
	if s.OpenIncident(KindDrift) != nil {
		t.Error("incident still open")
	}
	for len(s.Outbox) > 0 {
		s.Done(s.Outbox[0].ID)
	}
	if len(s.Incidents) != 0 {
		t.Errorf("resolved incident kept after its messages: %v", s.Incidents)
	}
}

func TestCorrectedDriftIsANoticeOrAResolution(t *testing.T) {
	cfg := testConfig()
	cfg.MinSeverity = config.SeverityInfo
	now := time.Unix(1000, 0)
	s := NewState("prod", "gb")
	corrected := drift(1, "a")
	corrected.OneShot, corrected.Severity, corrected.Resolves = true, config.SeverityInfo, []Kind{KindDrift}
	s.Apply(corrected, cfg, now)
	if got := ops(s); len(got) != 2 || got[0] != "bot:notice" && got[1] != "bot:notice" {
		t.Errorf("corrected drift without incident: %v, want notices", got)
	}
	if len(s.Open) != 0 {
		t.Error("a notice left an incident open")
	}
	s.Outbox = nil
	s.Apply(drift(2, "b"), cfg, now)
	s.Outbox = nil
	corrected.Seq = 3
	s.Apply(corrected, cfg, now)
	if got := ops(s); len(got) != 2 || got[0] != "bot:resolve" {
		t.Errorf("corrected drift with an open incident: %v, want resolves only", got)
	}
}

func TestBelowMinimumSeverityIsTrackedNotSent(t *testing.T) {
	cfg := testConfig() // minimum warning
	s := NewState("prod", "gb")
	o := drift(1, "a")
	o.Severity = config.SeverityInfo
	s.Apply(o, cfg, time.Now())
	if len(s.Outbox) != 0 || s.OpenIncident(KindDrift) == nil {
		t.Errorf("outbox %v, open %v", ops(s), s.Open)
	}
}
