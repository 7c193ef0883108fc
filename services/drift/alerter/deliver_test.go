package alerter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/incident"
	"github.com/ferrycd/ferry/services/drift/notify"
)

// lossyBot posts every message but, the first time, loses the answer (a
// timeout after Slack took it). It can look messages up like the Web API.
type lossyBot struct {
	posted []notify.Message
	lose   bool
}

func (b *lossyBot) Notify(_ context.Context, m notify.Message) (notify.Receipt, error) {
	b.posted = append(b.posted, m)
	if b.lose {
		b.lose = false
		return notify.Receipt{}, errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
	}
	return notify.Receipt{Channel: "C1", TS: "1.1"}, nil
}

func (b *lossyBot) Threads() bool { return true }

func (b *lossyBot) Find(_ context.Context, tag, _ string, _ time.Time) (notify.Receipt, bool, error) {
	for _, m := range b.posted {
		if m.Tag == tag {
			return notify.Receipt{Channel: "C1", TS: "1.1"}, true, nil
		}
	}
	return notify.Receipt{}, false, nil
}

func TestUncertainPostIsLookedUpNotRepeated(t *testing.T) {
	cfg := &config.Config{Routes: []config.Route{{Name: "bot", Slack: config.Slack{Channel: "C1", TokenEnv: "T"}}}}
	cfg.SetDefaults()
	bot := &lossyBot{lose: true}
	d := &deliverer{cfg: cfg, notifiers: map[string]notify.Notifier{"bot": bot}, throttle: newThrottle(cfg.Throttle), now: time.Now}
	st := incident.NewState("prod", "gb")
	st.Apply(incident.Observation{Source: "S", Seq: 1, Cluster: "prod", App: "gb", Kind: incident.KindDrift,
		Severity: config.SeverityWarning}, cfg, time.Now())
	log := logging.Discard()
	if s := d.deliver(context.Background(), log, st); !s.retry || !st.Outbox[0].Uncertain {
		t.Fatalf("lost answer: step %+v, action %+v", s, st.Outbox[0])
	}
	if s := d.deliver(context.Background(), log, st); !s.done {
		t.Fatalf("retry: step %+v", s)
	}
	if len(bot.posted) != 1 {
		t.Errorf("posted %d times, want 1", len(bot.posted))
	}
	if dl := st.OpenIncident(incident.KindDrift).Routes["bot"]; dl.TS != "1.1" || !dl.Posted {
		t.Errorf("delivery %+v: found message not adopted", dl)
	}
}
