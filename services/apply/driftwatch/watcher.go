package driftwatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/ferrycd/ferry/pkg/logging"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Publisher publishes a drift event; ctx carries the detection's trace.
type Publisher func(ctx context.Context, ev *ferryv1.DriftEvent) error

// Options configures a Watcher.
type Options struct {
	// Cluster the watcher runs in, copied into events.
	Cluster string
	// ManagedSelector is the label selector of objects Ferry manages.
	ManagedSelector string
	// AppLabel is the label naming an object's app.
	AppLabel string
	// FieldManager is Ferry's own field manager, never reported as the changer.
	FieldManager string
	// Resync is the interval of the full comparison; default 5m.
	Resync time.Duration
	// Workers compare in parallel; default 4.
	Workers int
	// FightLimit corrections of one app within FightWindow stop self-heal;
	// defaults 5 in 5m.
	FightLimit  int
	FightWindow time.Duration
	// Suspended reports whether the operator suspended app (ferry
	// suspend): its drift is still reported, but never self-healed, so a
	// hotfix made while suspended stays until the app is resumed. Nil
	// suspends no app.
	Suspended func(app string) bool
}

func (o *Options) defaults() {
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.FightLimit <= 0 {
		o.FightLimit = 5
	}
	if o.FightWindow <= 0 {
		o.FightWindow = 5 * time.Minute
	}
	if o.FieldManager == "" {
		o.FieldManager = "ferry"
	}
}

// Watcher watches managed objects and reports drift.
type Watcher struct {
	opts    Options
	dyn     dynamic.Interface
	mapper  meta.RESTMapper
	rm      *ssa.ResourceManager
	publish Publisher
	reg     *registry
	queue   workqueue.TypedRateLimitingInterface[work]

	mu        sync.Mutex
	factory   dynamicinformer.DynamicSharedInformerFactory
	ctx       context.Context
	informers map[schema.GroupVersionResource]bool
	byKind    map[schema.GroupKind]cache.SharedIndexInformer
}

// New builds a Watcher; start it with Run.
func New(dyn dynamic.Interface, mapper meta.RESTMapper, rm *ssa.ResourceManager, publish Publisher, opts Options) (*Watcher, error) {
	if opts.ManagedSelector == "" || opts.AppLabel == "" {
		return nil, errors.New("driftwatch: managed selector and app label are required")
	}
	opts.defaults()
	w := &Watcher{
		opts: opts, dyn: dyn, mapper: mapper, rm: rm, publish: publish, reg: newRegistry(),
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[work](50*time.Millisecond, 30*time.Second)),
		informers: map[schema.GroupVersionResource]bool{},
		byKind:    map[schema.GroupKind]cache.SharedIndexInformer{},
	}
	w.factory = dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceAll,
		func(lo *metav1.ListOptions) { lo.LabelSelector = opts.ManagedSelector })
	return w, nil
}

// Run processes drift until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	w.factory.Start(ctx.Done())
	w.mu.Unlock()
	var wg sync.WaitGroup
	for range w.opts.Workers {
		wg.Go(func() {
			for w.next(ctx) {
			}
		})
	}
	ticker := time.NewTicker(w.opts.Resync)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			w.queue.ShutDown()
			w.factory.Shutdown()
			wg.Wait()
			return nil
		case <-ticker.C:
			for _, item := range w.reg.all() {
				w.queue.Add(item)
			}
		}
	}
}

// Pause stops reporting drift for app while the worker applies it.
func (w *Watcher) Pause(app string) { w.reg.pause(app, true) }

// Resume reports drift for app again against its last tracked state, after
// an apply that failed.
func (w *Watcher) Resume(app string) { w.reg.pause(app, false) }

// Tracks reports whether app is tracked at revision.
func (w *Watcher) Tracks(app, revision string) bool { return w.reg.tracks(app, revision) }

// Cached returns the watched object gk namespace/name from the informer
// cache, without a request to the API server: the worker reads health from
// it. It is false when the kind is not watched or the object is absent.
func (w *Watcher) Cached(gk schema.GroupKind, namespace, name string) (*unstructured.Unstructured, bool) {
	w.mu.Lock()
	inf, ok := w.byKind[gk]
	w.mu.Unlock()
	if !ok {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, exists, err := inf.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	u, ok := obj.(*unstructured.Unstructured)
	return u, ok
}

// Forget stops watching app, after it was deleted.
func (w *Watcher) Forget(app string) { w.reg.forget(app) }

// Track records app's desired state after a successful apply and makes
// sure its kinds are watched. It waits for new informers to sync so the
// objects just applied are not mistaken for events.
func (w *Watcher) Track(ctx context.Context, s AppState) error {
	kinds, err := w.reg.set(s)
	if err != nil {
		return err
	}
	for _, gvk := range kinds {
		if err := w.watch(ctx, gvk); err != nil {
			return err
		}
	}
	return nil
}

func (w *Watcher) watch(ctx context.Context, gvk schema.GroupVersionKind) error {
	mapping, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("watch %s: %w", gvk, err)
	}
	w.mu.Lock()
	if w.informers[mapping.Resource] {
		w.mu.Unlock()
		return nil
	}
	w.informers[mapping.Resource] = true
	inf := w.factory.ForResource(mapping.Resource).Informer()
	// The cache serves drift triggers and health: keep only what they
	// read (slim.go).
	_ = inf.SetTransform(slim)
	if _, ok := w.byKind[gvk.GroupKind()]; !ok {
		w.byKind[gvk.GroupKind()] = inf
	}
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			if !statusOnly(old, obj) {
				w.enqueue(obj)
			}
		},
		DeleteFunc: func(obj any) { w.enqueue(obj) },
	})
	if w.ctx != nil {
		w.factory.Start(w.ctx.Done())
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("watch %s: %w", gvk, err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("watch %s: cache did not sync", gvk)
	}
	logging.From(ctx).Debug("watching for drift", "resource", mapping.Resource.String())
	return nil
}

func (w *Watcher) enqueue(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	app := u.GetLabels()[w.opts.AppLabel]
	if app == "" {
		return
	}
	w.queue.Add(work{App: app, Key: keyOf(u)})
}

func (w *Watcher) next(ctx context.Context) bool {
	item, shutdown := w.queue.Get()
	if shutdown {
		return false
	}
	defer w.queue.Done(item)
	if err := w.check(ctx, item); err != nil {
		logging.From(ctx).Warn("drift check failed, retrying", "app", item.App, "object", item.Key.Kind+"/"+item.Key.Name, "error", err)
		w.queue.AddRateLimited(item)
		return true
	}
	w.queue.Forget(item)
	return true
}

// statusOnly reports an update that cannot be drift: the generation (which
// the API server bumps on every spec change) and the labels and
// annotations are unchanged, so only status or bookkeeping moved. Objects
// without a generation (ConfigMaps, Services, …) are always compared.
func statusOnly(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*unstructured.Unstructured)
	n, ok2 := newObj.(*unstructured.Unstructured)
	if !ok1 || !ok2 || n.GetGeneration() == 0 || o.GetGeneration() != n.GetGeneration() {
		return false
	}
	return maps.Equal(o.GetLabels(), n.GetLabels()) && maps.Equal(o.GetAnnotations(), n.GetAnnotations())
}
