package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
)

// warnings collects the API server's warnings (Pod Security, unknown or
// deprecated fields), which the tests treat as failures.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns and clears the warnings seen so far.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// applier server-side applies objects to the test's kube-apiserver.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	warn   *warnings
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	w := &warnings{}
	cfg := cp.RESTConfig()
	cfg.WarningHandler = w
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, warn: w,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery()))}
}

// apply sends u as a server-side apply with strict field validation, as a
// dry run unless real.
func (a *applier) apply(ctx context.Context, u *unstructured.Unstructured, real bool) error {
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: no such kind on the API server: %w", gvk, u.GetName(), err)
	}
	body, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "ferry-deploy-test", Force: new(true), FieldValidation: "Strict"}
	if !real {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if u.GetNamespace() != "" {
		ri = a.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts); err != nil {
		return fmt.Errorf("%s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// TestManifestsApplyToAPIServer server-side dry-runs every object of each
// kustomization against a real kube-apiserver with strict field
// validation; a wrong API version, an unknown or misspelt field, a bad
// value, or a Pod Security "restricted" violation (ferry-system warns on
// it) fails. The Namespace is applied for real first, as kubectl apply
// does it before the objects inside.
func TestManifestsApplyToAPIServer(t *testing.T) {
	a := newApplier(t)
	for _, dir := range kustomizations {
		t.Run(strings.TrimPrefix(dir, root+"/"), func(t *testing.T) {
			objs, err := Build(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range objs {
				if u.GetKind() == "Namespace" {
					if err := a.apply(t.Context(), u, true); err != nil {
						t.Fatal(err)
					}
				}
			}
			a.warn.take()
			for _, u := range objs {
				if err := a.apply(t.Context(), u, false); err != nil {
					t.Error(err)
				}
				for _, w := range a.warn.take() {
					t.Errorf("%s %s: API server warning: %s", u.GetKind(), u.GetName(), w)
				}
			}
		})
	}
}

// TestPodSecurityWarningsAreSeen shows that the warning check above can
// fail: a privileged Deployment in ferry-system draws a Pod Security
// warning on a dry run.
func TestPodSecurityWarningsAreSeen(t *testing.T) {
	a := newApplier(t)
	objs, err := Build(kustomizations[0])
	if err != nil {
		t.Fatal(err)
	}
	var bad *unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Namespace" {
			if err := a.apply(t.Context(), u, true); err != nil {
				t.Fatal(err)
			}
		}
		if u.GetKind() == "Deployment" && u.GetName() == "ingest" {
			bad = u.DeepCopy()
		}
	}
	if bad == nil {
		t.Fatal("no ingest Deployment")
	}
	cs, _, _ := unstructured.NestedSlice(bad.Object, "spec", "template", "spec", "containers")
	c := cs[0].(map[string]any)
	c["securityContext"] = map[string]any{"privileged": true}
	_ = unstructured.SetNestedSlice(bad.Object, cs, "spec", "template", "spec", "containers")
	a.warn.take()
	if err := a.apply(t.Context(), bad, false); err != nil {
		t.Fatal(err)
	}
	ws := a.warn.take()
	if !slices.ContainsFunc(ws, func(w string) bool { return strings.Contains(w, "privileged") }) {
		t.Fatalf("privileged Deployment in ferry-system: warnings %q, want a Pod Security one", ws)
	}
}

// TestApplyWorkerRBAC applies the central install for real and asks the
// API server whether the worker's ServiceAccount may do what a worker
// does: server-side apply and prune any kind anywhere (including kinds
// from CRDs that do not exist yet), watch them, keep its inventory
// ConfigMaps in ferry-system, create Namespaces and ship RBAC. It must
// not get more than that (impersonation).
func TestApplyWorkerRBAC(t *testing.T) {
	a := newApplier(t)
	objs, err := Build(kustomizations[0])
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(objs, func(x, y *unstructured.Unstructured) int {
		return boolInt(y.GetKind() == "Namespace") - boolInt(x.GetKind() == "Namespace")
	})
	for _, u := range objs {
		if err := a.apply(t.Context(), u, true); err != nil {
			t.Fatal(err)
		}
	}
	kube := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	sa := "system:serviceaccount:ferry-system:ferry-apply"
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:ferry-system", "system:authenticated"}
	for _, c := range []struct {
		verb, group, resource, ns string
		want                      bool
	}{
		{"patch", "apps", "deployments", "guestbook", true},
		{"create", "", "secrets", "guestbook", true},
		{"delete", "", "services", "guestbook", true},
		{"watch", "apps", "deployments", "", true},
		{"list", "", "configmaps", "", true},
		{"patch", "apiextensions.k8s.io", "customresourcedefinitions", "", true},
		{"delete", "example.com", "widgets", "guestbook", true},
		{"create", "", "namespaces", "", true},
		{"get", "", "configmaps", "ferry-system", true},
		{"create", "", "configmaps", "ferry-system", true},
		{"update", "", "configmaps", "ferry-system", true},
		{"delete", "", "configmaps", "ferry-system", true},
		{"patch", "rbac.authorization.k8s.io", "clusterroles", "", true},
		{"escalate", "rbac.authorization.k8s.io", "clusterroles", "", true},
		{"bind", "rbac.authorization.k8s.io", "clusterroles", "", true},
		{"impersonate", "", "users", "", false},
		{"impersonate", "", "serviceaccounts", "ferry-system", false},
	} {
		r, err := kube.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: sa, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: c.verb, Group: c.group, Resource: c.resource, Namespace: c.ns}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != c.want {
			t.Errorf("ferry-apply may %s %s.%s in %q: %v, want %v (%s)", c.verb, c.resource, c.group, c.ns, r.Status.Allowed, c.want, r.Status.Reason)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
