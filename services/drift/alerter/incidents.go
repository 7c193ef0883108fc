package alerter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/incident"
)

// incidents applies observations to the per-app state in the KV store and
// sends the outbox, then settles the message: ack once everything it
// caused was delivered (or dropped for good), NakWithDelay otherwise, so the
// durable consumer keeps an alert until Slack takes it.
type incidents struct {
	store *incident.Store
	cfg   *config.Config
	d     *deliverer
	locks keyedMutex
}

// maxConflicts bounds retries when another writer changed an app's state.
const maxConflicts = 5

// handle applies o (from msg) and delivers what is pending for its app.
func (h *incidents) handle(ctx context.Context, msg jetstream.Msg, o incident.Observation) {
	log := logging.From(ctx).With("subject", msg.Subject(), "cluster", o.Cluster, "app", o.App)
	meta, err := msg.Metadata()
	if err != nil {
		log.Error("dropping message without JetStream metadata", "error", err)
		_ = msg.Term()
		return
	}
	o.Source, o.Seq = meta.Stream, meta.Sequence.Stream
	unlock := h.locks.lock(o.Cluster + "/" + o.App)
	defer unlock()
	var s step
	for attempt := 1; ; attempt++ {
		s, err = h.process(ctx, log, o)
		if !errors.Is(err, incident.ErrConflict) || attempt == maxConflicts {
			break
		}
	}
	switch {
	case err != nil:
		delay := h.cfg.Retry.Delay(meta.NumDelivered)
		log.Warn("incident state not saved, redelivering", "error", err, "delay", delay)
		_ = msg.NakWithDelay(delay)
	case s.retry:
		delay := max(s.wait, h.cfg.Retry.Delay(meta.NumDelivered))
		_ = msg.NakWithDelay(delay)
	default:
		if err := msg.Ack(); err != nil {
			log.Warn("ack", "error", err)
		}
	}
}

// process loads the app's state, applies o once, and sends the outbox,
// saving after every message so nothing is sent twice or forgotten.
func (h *incidents) process(ctx context.Context, log *slog.Logger, o incident.Observation) (step, error) {
	st, rev, err := h.store.Get(ctx, o.Cluster, o.App)
	if err != nil {
		return step{}, err
	}
	opened := len(st.Open)
	if st.Apply(o, h.cfg, h.d.now()) {
		if rev, err = h.store.Put(ctx, st, rev); err != nil {
			return step{}, err
		}
		if len(st.Open) != opened {
			log.Info("incidents changed", "open", openKinds(st))
		}
	}
	for len(st.Outbox) > 0 {
		s := h.d.deliver(ctx, log, st)
		if rev, err = h.store.Put(ctx, st, rev); err != nil {
			return step{}, err
		}
		if s.retry {
			return s, nil
		}
	}
	return step{done: true}, nil
}

func openKinds(st *incident.State) []string {
	var out []string
	for k := range st.Open {
		out = append(out, string(k))
	}
	return out
}

// keyedMutex serialises work per key (one app), so the status and drift
// consumers never race on the same state.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// settleTimeout bounds the KV and Slack work for one message.
const settleTimeout = 90 * time.Second
