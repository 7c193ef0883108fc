package web

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// resultKeep is how many command results the dashboard remembers, and
// resultTTL for how long, to show them on the page an action redirects to.
const (
	resultKeep = 64
	resultTTL  = 15 * time.Minute
)

// commandResult is what became of one action.
type commandResult struct {
	ID      string
	Command *ferryv1.Command
	// Result is the worker's final answer (or its last interim one when
	// the final did not come in time); nil when none came.
	Result *ferryv1.SyncResult
	// Err says why the command was not sent or not answered.
	Err string
	At  time.Time
}

// resultLog remembers recent command results by a random id.
type resultLog struct {
	mu    sync.Mutex
	byID  map[string]*commandResult
	order []string
}

func newResultLog() *resultLog { return &resultLog{byID: map[string]*commandResult{}} }

// add stores r under a new id and returns it.
func (l *resultLog) add(r *commandResult) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	r.ID = hex.EncodeToString(b)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byID[r.ID] = r
	l.order = append(l.order, r.ID)
	if len(l.order) > resultKeep {
		delete(l.byID, l.order[0])
		l.order = l.order[1:]
	}
	return r.ID
}

// get returns the result with id, nil when unknown or expired.
func (l *resultLog) get(id string, now time.Time) *commandResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.byID[id]
	if r == nil || now.Sub(r.At) > resultTTL {
		return nil
	}
	return r
}
