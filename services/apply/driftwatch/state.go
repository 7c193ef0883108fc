package driftwatch

import (
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// AppState is what an app should look like after a successful apply.
type AppState struct {
	// App and Revision identify the desired state.
	App, Revision string
	// RepoURL links alerts to the commit.
	RepoURL string
	// Objects as applied (namespace and labels set).
	Objects []*unstructured.Unstructured
	// Ignore lists fields whose differences are not drift.
	Ignore []jsondiff.IgnoreRule
	// SelfHeal re-applies drifted objects.
	SelfHeal bool
}

// objKey identifies one object.
type objKey struct {
	Group, Kind, Namespace, Name string
}

func keyOf(u *unstructured.Unstructured) objKey {
	gvk := u.GroupVersionKind()
	return objKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// work is one queued comparison: an object of an app.
type work struct {
	App string
	Key objKey
}

// tracked is the watcher's view of one app.
type tracked struct {
	state AppState
	// desired holds each object as JSON, a sixth to a tenth of its size
	// as a decoded map (a small ConfigMap 265 vs 1,621 bytes, a Deployment
	// 441 vs 4,088); it is decoded only to be compared.
	desired map[objKey][]byte
	ignore  []jsondiff.IgnoreRule
	paused  bool
	// corrections holds when self-heal re-applied something, for the
	// fight limit; fighting stops healing until the next revision.
	corrections []time.Time
	fighting    bool
}

// registry holds the tracked apps.
type registry struct {
	mu   sync.Mutex
	apps map[string]*tracked
	gvks map[schema.GroupVersionKind]bool
}

func newRegistry() *registry {
	return &registry{apps: map[string]*tracked{}, gvks: map[schema.GroupVersionKind]bool{}}
}

// set replaces app's desired state and returns the kinds not watched yet.
func (r *registry) set(s AppState) ([]schema.GroupVersionKind, error) {
	t := &tracked{state: s, desired: make(map[objKey][]byte, len(s.Objects)), ignore: s.Ignore}
	for _, o := range s.Objects {
		b, err := o.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("track %s/%s: %w", o.GetKind(), o.GetName(), err)
		}
		t.desired[keyOf(o)] = b
	}
	t.state.Objects = nil
	var newKinds []schema.GroupVersionKind
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range s.Objects {
		gvk := o.GroupVersionKind()
		if !r.gvks[gvk] {
			r.gvks[gvk] = true
			newKinds = append(newKinds, gvk)
		}
	}
	r.apps[s.App] = t
	return newKinds, nil
}

func (r *registry) pause(app string, paused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.apps[app]; ok {
		t.paused = paused
	}
}

func (r *registry) tracks(app, revision string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.apps[app]
	return ok && t.state.Revision == revision
}

func (r *registry) forget(app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.apps, app)
}

// lookup returns a copy of the desired object for w and the app's state,
// or false when the object is not tracked or the app is paused.
func (r *registry) lookup(w work) (*unstructured.Unstructured, AppState, []jsondiff.IgnoreRule, bool, error) {
	r.mu.Lock()
	t, ok := r.apps[w.App]
	if !ok || t.paused {
		r.mu.Unlock()
		return nil, AppState{}, nil, false, nil
	}
	b, ok := t.desired[w.Key]
	st, ignore := t.state, t.ignore
	r.mu.Unlock()
	if !ok {
		return nil, AppState{}, nil, false, nil
	}
	d := &unstructured.Unstructured{}
	if err := d.UnmarshalJSON(b); err != nil {
		return nil, AppState{}, nil, false, fmt.Errorf("decode tracked %s/%s: %w", w.Key.Kind, w.Key.Name, err)
	}
	return d, st, ignore, true, nil
}

// all lists every tracked object, for the periodic full comparison.
func (r *registry) all() []work {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []work
	for app, t := range r.apps {
		for k := range t.desired {
			out = append(out, work{App: app, Key: k})
		}
	}
	return out
}

// allowHeal records a correction for app unless the fight limit is
// reached within window; it returns false (and marks the app fighting)
// when healing must stop, and whether this call started the fight.
func (r *registry) allowHeal(app string, limit int, window time.Duration, now time.Time) (allowed, startedFight bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.apps[app]
	if !ok {
		return false, false
	}
	if t.fighting {
		return false, false
	}
	kept := t.corrections[:0]
	for _, c := range t.corrections {
		if now.Sub(c) < window {
			kept = append(kept, c)
		}
	}
	t.corrections = kept
	if len(t.corrections) >= limit {
		t.fighting = true
		return false, true
	}
	t.corrections = append(t.corrections, now)
	return true, false
}
