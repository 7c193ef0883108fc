package worker

import (
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// objectConcurrency is how many requests one app's sync keeps in flight
// (dry runs, applies, deletes); about ten to twenty parallel requests
// saturate a local API server.
const objectConcurrency = 16

// ownerGroup prefixes Ferry's labels and annotations.
const ownerGroup = "ferry.dev"

// kube bundles what one worker needs to talk to its cluster.
type kube struct {
	mapper       meta.RESTMapper
	client       client.Client
	poller       *polling.StatusPoller
	manager      *ssa.ResourceManager
	fieldManager string
	workers      int
	// cluster is the Ferry cluster name this worker serves.
	cluster string
}

// newKube builds a controller-runtime client with a lazily discovering
// REST mapper, a kstatus poller and an ssa ResourceManager, wired the way
// fluxcd/kustomize-controller wires them.
func newKube(cfg *rest.Config, opts Options) (*kube, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ferry-apply"
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes http client: %w", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("kubernetes rest mapper: %w", err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	poller := polling.NewStatusPoller(c, mapper, polling.Options{})
	m := ssa.NewResourceManager(c, poller, ssa.Owner{Field: opts.FieldManager, Group: ownerGroup})
	m.SetConcurrency(objectConcurrency)
	return &kube{
		mapper: mapper, client: c, poller: poller, manager: m,
		fieldManager: opts.FieldManager, workers: objectConcurrency, cluster: opts.Cluster,
	}, nil
}

// namespaced reports whether objects of u's kind live in a namespace. Kinds
// the API server does not know yet are looked up among the CRDs of the same
// bundle (crdScopes), since those are applied first.
func (k *kube) namespaced(u *unstructured.Unstructured, crdScopes map[schema.GroupKind]bool) (bool, error) {
	gvk := u.GroupVersionKind()
	mapping, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil {
		return mapping.Scope.Name() == meta.RESTScopeNameNamespace, nil
	}
	if ns, ok := crdScopes[gvk.GroupKind()]; ok && meta.IsNoMatchError(err) {
		return ns, nil
	}
	return false, fmt.Errorf("%s: %w", gvk.String(), err)
}
