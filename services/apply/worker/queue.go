package worker

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// delivery is one received DesiredState message, not yet settled.
type delivery struct {
	msg  jetstream.Msg
	meta *jetstream.MsgMetadata
	// stop ends the InProgress heartbeats; call it once the message is settled.
	stop func()
	// newerCh is closed when a newer revision of the same app is queued
	// behind this one, so a health wait can end early. Made on first use.
	newerMu sync.Mutex
	newerCh chan struct{}
	// release gives back the dispatcher's concurrency slot early, when the
	// apply is done and only a health wait remains. Nil without a slot.
	release func()
}

// releaseSlot lets another app apply while this one waits for health.
func (d *delivery) releaseSlot() {
	if d.release != nil {
		d.release()
	}
}

// newer returns the channel closed by overtake.
func (d *delivery) newer() <-chan struct{} {
	d.newerMu.Lock()
	defer d.newerMu.Unlock()
	return d.newerChan()
}

// newerChan makes newerCh on first use; the caller holds newerMu.
func (d *delivery) newerChan() chan struct{} {
	if d.newerCh == nil {
		d.newerCh = make(chan struct{})
	}
	return d.newerCh
}

// overtake closes d's newer channel, once.
func (d *delivery) overtake() {
	d.newerMu.Lock()
	defer d.newerMu.Unlock()
	ch := d.newerChan()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// seq is the message's stream sequence: a higher one is a newer revision.
func (d *delivery) seq() uint64 { return d.meta.Sequence.Stream }

// heartbeat tells JetStream every interval that msg is still being worked
// on, so it is not redelivered while it waits or applies. The returned
// function stops it.
func heartbeat(msg jetstream.Msg, interval time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return sync.OnceFunc(func() { close(done) })
}

// dispatcher applies the revisions of one app (one subject) in order, one
// at a time, and different apps in parallel up to a limit. At most one
// delivery waits per app: when a newer revision arrives, the one waiting
// is superseded, as only the newest desired state matters.
type dispatcher struct {
	ctx       context.Context
	slots     chan struct{}
	handle    func(context.Context, *delivery)
	supersede func(context.Context, *delivery)

	mu       sync.Mutex
	apps     map[string]*appQueue
	inFlight map[uint64]bool
	wg       sync.WaitGroup
}

// appQueue is the delivery being applied and the newest one waiting
// behind it.
type appQueue struct {
	running, waiting *delivery
}

// newDispatcher runs handle for each delivery with at most limit at once,
// and supersede for deliveries overtaken by a newer one.
func newDispatcher(ctx context.Context, limit int, handle, supersede func(context.Context, *delivery)) *dispatcher {
	return &dispatcher{
		ctx: ctx, slots: make(chan struct{}, limit),
		handle: handle, supersede: supersede,
		apps: map[string]*appQueue{}, inFlight: map[uint64]bool{},
	}
}

// enqueue schedules d behind the delivery being applied for the same
// subject. A redelivery of a message still in flight is dropped; the
// first delivery settles it.
func (p *dispatcher) enqueue(d *delivery) {
	key := d.msg.Subject()
	p.mu.Lock()
	if p.inFlight[d.seq()] {
		p.mu.Unlock()
		d.stop()
		return
	}
	p.inFlight[d.seq()] = true
	q, busy := p.apps[key]
	if !busy {
		p.apps[key] = &appQueue{running: d}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.run(key, d)
		return
	}
	overtaken := d
	if q.waiting == nil || q.waiting.seq() < d.seq() {
		overtaken, q.waiting = q.waiting, d
		if q.running.seq() < d.seq() {
			q.running.overtake()
		}
	}
	if overtaken != nil {
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if overtaken != nil {
		go func() {
			defer p.wg.Done()
			p.supersede(p.ctx, overtaken)
			p.done(overtaken)
		}()
	}
}

// run applies d, then whatever waits for the same subject, until nothing does.
func (p *dispatcher) run(key string, d *delivery) {
	defer p.wg.Done()
	for d != nil {
		select {
		case p.slots <- struct{}{}:
			d.release = sync.OnceFunc(func() { <-p.slots })
			p.handle(p.ctx, d)
			d.release()
		case <-p.ctx.Done():
			p.handle(p.ctx, d) // settles without applying
		}
		p.done(d)
		p.mu.Lock()
		q := p.apps[key]
		d, q.waiting = q.waiting, nil
		q.running = d
		if d == nil {
			delete(p.apps, key)
		}
		p.mu.Unlock()
	}
}

// done forgets a settled delivery.
func (p *dispatcher) done(d *delivery) {
	d.stop()
	p.mu.Lock()
	delete(p.inFlight, d.seq())
	p.mu.Unlock()
}

// wait blocks until every delivery handed to enqueue is settled.
func (p *dispatcher) wait() { p.wg.Wait() }
