// Package registry reads the app registry: the ferry.yaml of a platform
// repository, which declares every application, where its manifests live
// and which clusters it goes to.
package registry

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// FileName is the registry file render looks for at a repository's root.
const FileName = "ferry.yaml"

// DefaultRef is the branch used when neither source.ref nor a destination
// ref is set: the default branch a fresh repository pushes, "main".
const DefaultRef = "main"

// DefaultKubeVersion is the Kubernetes version Helm's .Capabilities report
// for a cluster whose version the registry does not give.
const DefaultKubeVersion = "1.37"

// Registry is one parsed ferry.yaml.
type Registry struct {
	// File names the source in errors, e.g. "ferry.yaml".
	File string `json:"-" yaml:"-"`
	// Clusters optionally describes target clusters; Parse copies their
	// settings into every destination on that cluster.
	Clusters []Cluster `json:"clusters,omitempty" yaml:"clusters,omitempty"`
	// Apps in declaration order; names are unique.
	Apps []App `json:"apps" yaml:"apps"`
}

// Cluster holds per-cluster render settings.
type Cluster struct {
	// Name is the cluster's name, as in destinations.
	Name string `json:"name" yaml:"name"`
	// KubeVersion is the cluster's Kubernetes version ("1.37", "v1.36.2"),
	// reported to Helm charts as .Capabilities.KubeVersion.
	KubeVersion string `json:"kubeVersion,omitempty" yaml:"kubeVersion,omitempty"`
}

// App is one application: where its manifests come from, where they go and
// how they are synced.
type App struct {
	// Name is a DNS-1123 label, unique in the registry.
	Name string `json:"name" yaml:"name"`
	// Source is the repository, path and branch of the manifests.
	Source Source `json:"source" yaml:"source"`
	// Destinations are the clusters the app is delivered to.
	Destinations []Destination `json:"destinations" yaml:"destinations"`
	// Sync is the policy every destination is reconciled with.
	Sync SyncPolicy `json:"sync" yaml:"sync"`
	// IgnoreDifferences names fields another writer owns (e.g. spec.replicas
	// under an HPA): their differences are not drift and are not healed.
	IgnoreDifferences []IgnoreDifference `json:"ignoreDifferences,omitempty" yaml:"ignoreDifferences,omitempty"`
}

// IgnoreDifference selects objects (empty fields match all) and the JSON
// pointers (RFC 6901) whose differences are ignored, as Argo CD's
// ignoreDifferences does.
type IgnoreDifference struct {
	Group        string   `json:"group,omitempty" yaml:"group,omitempty"`
	Kind         string   `json:"kind,omitempty" yaml:"kind,omitempty"`
	Name         string   `json:"name,omitempty" yaml:"name,omitempty"`
	Namespace    string   `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	JSONPointers []string `json:"jsonPointers" yaml:"jsonPointers"`
}

// Source locates an app's manifests in Git.
type Source struct {
	// Repo is the clone URL.
	Repo string `json:"repo" yaml:"repo"`
	// Path is the app's directory, relative to the repository root ("." for the root).
	Path string `json:"path" yaml:"path"`
	// Ref is the branch to follow; DefaultRef when empty.
	Ref string `json:"ref,omitempty" yaml:"ref,omitempty"`
}

// Destination is one cluster an app is delivered to, with its overrides.
type Destination struct {
	// Cluster is the target cluster's name, a DNS-1123 label.
	Cluster string `json:"cluster" yaml:"cluster"`
	// Namespace is the default namespace for namespaced objects without one.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// Ref overrides Source.Ref for this cluster (e.g. a release branch).
	Ref string `json:"ref,omitempty" yaml:"ref,omitempty"`
	// Path overrides Source.Path for this cluster (e.g. an overlay).
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Values are value files, relative to the app path, for tools that take values (Helm).
	Values []string `json:"values,omitempty" yaml:"values,omitempty"`
	// ValuesObject are inline values, applied after the value files.
	ValuesObject map[string]any `json:"valuesObject,omitempty" yaml:"valuesObject,omitempty"`
	// KubeVersion is the cluster's Kubernetes version for Helm's
	// .Capabilities; set here or under clusters[], DefaultKubeVersion when
	// neither says.
	KubeVersion string `json:"kubeVersion,omitempty" yaml:"kubeVersion,omitempty"`
}

// SyncPolicy says how an app's destinations are reconciled.
type SyncPolicy struct {
	// Automated applies new revisions without an operator's sync command.
	Automated bool `json:"automated,omitempty" yaml:"automated,omitempty"`
	// Prune deletes objects a new revision no longer has.
	Prune bool `json:"prune,omitempty" yaml:"prune,omitempty"`
	// SelfHeal reverts drift as soon as it is detected.
	SelfHeal bool `json:"selfHeal,omitempty" yaml:"selfHeal,omitempty"`
	// CreateNamespace creates each destination's namespace when it does
	// not exist (Argo CD's CreateNamespace=true). Ferry never deletes a
	// namespace it created this way.
	CreateNamespace bool `json:"createNamespace,omitempty" yaml:"createNamespace,omitempty"`
}

// RefFor returns the branch destination d follows: its override, else the
// source ref, else DefaultRef.
func (a *App) RefFor(d Destination) string {
	switch {
	case d.Ref != "":
		return d.Ref
	case a.Source.Ref != "":
		return a.Source.Ref
	default:
		return DefaultRef
	}
}

// PathFor returns the directory destination d renders: its override, else
// the source path, cleaned and relative to the repository root.
func (a *App) PathFor(d Destination) string {
	if d.Path != "" {
		return cleanPath(d.Path)
	}
	return cleanPath(a.Source.Path)
}

// KubeVersionFor returns the Kubernetes version destination d renders
// for: its own, else DefaultKubeVersion.
func (a *App) KubeVersionFor(d Destination) string {
	if d.KubeVersion != "" {
		return d.KubeVersion
	}
	return DefaultKubeVersion
}

// App returns the app named name, or nil.
func (r *Registry) App(name string) *App {
	for i := range r.Apps {
		if r.Apps[i].Name == name {
			return &r.Apps[i]
		}
	}
	return nil
}

// Entry is an app as stored in the ferry-apps KV bucket (key = app name):
// the app plus the platform repository whose ferry.yaml declared it.
type Entry struct {
	App
	// Platform is the clone URL of the platform repository.
	Platform string `json:"platform"`
}

// Marshal encodes e as the JSON stored in the KV bucket.
func (e *Entry) Marshal() ([]byte, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode app %q: %w", e.Name, err)
	}
	return data, nil
}

// UnmarshalEntry decodes a KV value written by Entry.Marshal.
func UnmarshalEntry(data []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("decode app entry: %w", err)
	}
	return &e, nil
}

// cleanPath normalises a repository-relative path: no leading "./" or "/",
// "." for the root.
func cleanPath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "."
	}
	return p
}
