package driftwatch

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/ferrycd/ferry/pkg/controlplane"
	"github.com/ferrycd/ferry/pkg/manifest"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

const (
	managedBy = "app.kubernetes.io/managed-by"
	appLabel  = "ferry.dev/app"
)

// env is one watcher over one app in its own namespace.
type env struct {
	t      *testing.T
	ns     string
	kube   kubernetes.Interface
	rm     *ssa.ResourceManager
	w      *Watcher
	events chan *ferryv1.DriftEvent
	objs   []*unstructured.Unstructured
}

func newEnv(t *testing.T, opts Options, selfHeal bool, ignore []jsondiff.IgnoreRule) *env {
	t.Helper()
	ctx := t.Context()
	cfg := cp.RESTConfig()
	rm, mapper := resourceManager(t, cfg)
	e := &env{t: t, ns: strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), kube: kubernetes.NewForConfigOrDie(cfg),
		rm: rm, events: make(chan *ferryv1.DriftEvent, 64)}
	opts.Cluster, opts.ManagedSelector, opts.AppLabel = "test", managedBy+"=ferry", appLabel
	w, err := New(dynamic.NewForConfigOrDie(cfg), mapper, rm, func(_ context.Context, ev *ferryv1.DriftEvent) error {
		e.events <- ev
		return nil
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.w = w
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	objs, err := manifest.Parse("test", fmt.Appendf(nil, `apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: %[1]s}
data: {color: blue}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example/web:1}]}
`, e.ns))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetLabels(map[string]string{managedBy: "ferry", appLabel: "shop"})
	}
	if _, err := rm.ApplyAllStaged(ctx, objs, ssa.DefaultApplyOptions()); err != nil {
		t.Fatal(err)
	}
	e.objs = objs
	if err := w.Track(ctx, AppState{App: "shop", Revision: "rev1", RepoURL: "https://git.example/org/shop", Objects: objs,
		SelfHeal: selfHeal, Ignore: ignore}); err != nil {
		t.Fatal(err)
	}
	return e
}

func resourceManager(t *testing.T, cfg *rest.Config) (*ssa.ResourceManager, meta.RESTMapper) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: hc, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	return ssa.NewResourceManager(c, polling.NewStatusPoller(c, mapper, polling.Options{}), ssa.Owner{Field: "ferry", Group: "ferry.dev"}), mapper
}

// patchReplicas changes the Deployment as `kubectl patch` would.
func (e *env) patchReplicas(n int) {
	e.t.Helper()
	_, err := e.kube.AppsV1().Deployments(e.ns).Patch(e.t.Context(), "web", types.MergePatchType,
		fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n), metav1.PatchOptions{FieldManager: "kubectl-patch"})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) replicas() int32 {
	e.t.Helper()
	d, err := e.kube.AppsV1().Deployments(e.ns).Get(e.t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func (e *env) next(what string) *ferryv1.DriftEvent {
	e.t.Helper()
	select {
	case ev := <-e.events:
		return ev
	case <-time.After(20 * time.Second):
		e.t.Fatalf("no drift event for %s within 20s", what)
		return nil
	}
}

func (e *env) none(within time.Duration) {
	e.t.Helper()
	select {
	case ev := <-e.events:
		e.t.Fatalf("unexpected drift event: %v", ev)
	case <-time.After(within):
	}
}
