package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// InventoryNamespace holds one inventory ConfigMap per app: what Ferry
// applied for the app, so that pruning survives restarts and never touches
// objects Ferry did not record.
const InventoryNamespace = "ferry-system"

// LabelInventory marks inventory ConfigMaps; its value is the app.
const LabelInventory = ownerGroup + "/inventory"

// Keys of an inventory ConfigMap's data.
const (
	inventoryRevision  = "revision"
	inventoryDigest    = "digest"
	inventoryNamespace = "namespace"
	inventoryObjects   = "objects"
)

// InventoryName is the name of the inventory ConfigMap in
// InventoryNamespace of app as Ferry cluster cluster delivers it. The
// cluster is part of the name because two Ferry clusters may be one
// Kubernetes cluster (staging and qa in namespaces of one cluster, say):
// each worker must know only what it applied, or one would prune the
// other's objects. The dots cannot occur in either name, so no two
// pairs share an inventory.
func InventoryName(cluster, app string) string { return "ferry-inventory." + cluster + "." + app }

// legacyInventoryName is the name inventories had before they were per
// cluster; loadInventory moves such an inventory to InventoryName.
func legacyInventoryName(app string) string { return "ferry-inventory-" + app }

// inventory is the set of objects Ferry applied for one app, with the
// revision and digest that the cluster is known to be at. An empty digest
// means the cluster may be between revisions (a sync failed half way), so
// the next sync applies in full.
type inventory struct {
	revision, digest, namespace string
	objects                     []*ferryv1.ObjectRef
}

// loadInventory reads app's inventory; a missing one is empty, not an
// error. An inventory under its legacy name is moved to its name now.
func (k *kube) loadInventory(ctx context.Context, app string) (*inventory, error) {
	var cm corev1.ConfigMap
	err := k.client.Get(ctx, client.ObjectKey{Namespace: InventoryNamespace, Name: InventoryName(k.cluster, app)}, &cm)
	if apierrors.IsNotFound(err) {
		return k.migrateInventory(ctx, app)
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory of %s: %w", app, err)
	}
	return decodeInventory(app, &cm)
}

// migrateInventory moves app's inventory from its legacy name, if there
// is one, to InventoryName, and returns it; an empty inventory otherwise.
// Written first and deleted after, so a crash in between loses nothing.
func (k *kube) migrateInventory(ctx context.Context, app string) (*inventory, error) {
	legacy := &corev1.ConfigMap{}
	err := k.client.Get(ctx, client.ObjectKey{Namespace: InventoryNamespace, Name: legacyInventoryName(app)}, legacy)
	if apierrors.IsNotFound(err) {
		return &inventory{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read legacy inventory of %s: %w", app, err)
	}
	inv, err := decodeInventory(app, legacy)
	if err != nil {
		return nil, err
	}
	if err := k.saveInventory(ctx, app, inv); err != nil {
		return nil, err
	}
	if err := k.client.Delete(ctx, legacy); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("delete legacy inventory of %s: %w", app, err)
	}
	return inv, nil
}

// decodeInventory reads an inventory ConfigMap of app.
func decodeInventory(app string, cm *corev1.ConfigMap) (*inventory, error) {
	inv := &inventory{
		revision:  cm.Data[inventoryRevision],
		digest:    cm.Data[inventoryDigest],
		namespace: cm.Data[inventoryNamespace],
	}
	for line := range strings.Lines(cm.Data[inventoryObjects]) {
		ref, err := parseRef(strings.TrimSpace(line))
		if err != nil {
			return nil, fmt.Errorf("inventory of %s: %w", app, err)
		}
		inv.objects = append(inv.objects, ref)
	}
	return inv, nil
}

// saveInventory writes app's inventory with server-side apply, creating
// InventoryNamespace on first use.
func (k *kube) saveInventory(ctx context.Context, app string, inv *inventory) error {
	lines := make([]string, len(inv.objects))
	for i, ref := range inv.objects {
		lines[i] = formatRef(ref)
	}
	slices.Sort(lines)
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetNamespace(InventoryNamespace)
	cm.SetName(InventoryName(k.cluster, app))
	cm.SetLabels(map[string]string{LabelManagedBy: managedByValue, LabelInventory: app, LabelCluster: k.cluster})
	cm.Object["data"] = map[string]any{
		inventoryRevision:  inv.revision,
		inventoryDigest:    inv.digest,
		inventoryNamespace: inv.namespace,
		inventoryObjects:   strings.Join(lines, "\n"),
	}
	err := k.applyInventory(ctx, cm)
	if apierrors.IsNotFound(err) {
		if err := k.ensureInventoryNamespace(ctx); err != nil {
			return err
		}
		err = k.applyInventory(ctx, cm)
	}
	if err != nil {
		return fmt.Errorf("write inventory of %s: %w", app, err)
	}
	return nil
}

func (k *kube) applyInventory(ctx context.Context, cm *unstructured.Unstructured) error {
	return k.client.Patch(ctx, cm, client.Apply, client.ForceOwnership, client.FieldOwner(k.fieldManager))
}

// ensureInventoryNamespace creates InventoryNamespace if it is missing.
func (k *kube) ensureInventoryNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   InventoryNamespace,
		Labels: map[string]string{LabelManagedBy: managedByValue},
	}}
	if err := k.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", InventoryNamespace, err)
	}
	return nil
}

// deleteInventory removes app's inventory: Ferry no longer owns anything
// of the app.
func (k *kube) deleteInventory(ctx context.Context, app string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: InventoryNamespace, Name: InventoryName(k.cluster, app)}}
	if err := k.client.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete inventory of %s: %w", app, err)
	}
	return nil
}

// formatRef writes ref as group/version/kind/namespace/name; the core
// group and cluster scope are empty fields. None of the parts can hold a
// slash.
func formatRef(ref *ferryv1.ObjectRef) string {
	return strings.Join([]string{ref.GetGroup(), ref.GetVersion(), ref.GetKind(), ref.GetNamespace(), ref.GetName()}, "/")
}

// parseRef reads a line written by formatRef.
func parseRef(s string) (*ferryv1.ObjectRef, error) {
	p := strings.Split(s, "/")
	if len(p) != 5 || p[1] == "" || p[2] == "" || p[4] == "" {
		return nil, fmt.Errorf("bad object reference %q", s)
	}
	return &ferryv1.ObjectRef{Group: p[0], Version: p[1], Kind: p[2], Namespace: p[3], Name: p[4]}, nil
}

// refKey identifies an object independent of its API version.
func refKey(ref *ferryv1.ObjectRef) string {
	return ref.GetGroup() + "/" + ref.GetKind() + "/" + ref.GetNamespace() + "/" + ref.GetName()
}

// missing returns the refs of old whose objects are not in current.
func missing(old, current []*ferryv1.ObjectRef) []*ferryv1.ObjectRef {
	keep := make(map[string]bool, len(current))
	for _, r := range current {
		keep[refKey(r)] = true
	}
	var out []*ferryv1.ObjectRef
	for _, r := range old {
		if !keep[refKey(r)] {
			out = append(out, r)
		}
	}
	return out
}

// union returns a followed by the refs of b not in a.
func union(a, b []*ferryv1.ObjectRef) []*ferryv1.ObjectRef {
	return append(slices.Clone(a), missing(b, a)...)
}
