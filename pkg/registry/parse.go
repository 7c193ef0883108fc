package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ferrycd/ferry/pkg/repoid"
	"github.com/ferrycd/ferry/pkg/subject"
)

// ErrInvalid reports a ferry.yaml that does not parse or validate. Every
// error Parse returns wraps it.
var ErrInvalid = errors.New("invalid app registry")

// FieldError is one validation failure, naming the file, the app and the field.
type FieldError struct {
	// File is the registry file.
	File string
	// Index is the app's position in apps[].
	Index int
	// App is the app's name as written (may be empty or invalid).
	App string
	// Field is the path of the field inside the app, e.g. destinations[0].cluster.
	Field string
	// Err says what is wrong.
	Err error
}

// Error reads like `ferry.yaml: apps[1] "guestbook": destinations[0].cluster: ...`.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: apps[%d] %q: %s: %v", e.File, e.Index, e.App, e.Field, e.Err)
}

// Unwrap returns the cause and ErrInvalid.
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Parse decodes and validates a ferry.yaml. Unknown fields are errors;
// validation reports every problem it finds, each as a *FieldError, joined.
func Parse(file string, data []byte) (*Registry, error) {
	reg := &Registry{File: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(reg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, file, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: holds more than one YAML document", ErrInvalid, file)
	}
	if err := reg.Validate(); err != nil {
		return nil, err
	}
	reg.resolveClusters()
	return reg, nil
}

// resolveClusters copies clusters[] settings into destinations that do
// not set them themselves.
func (r *Registry) resolveClusters() {
	versions := make(map[string]string, len(r.Clusters))
	for _, c := range r.Clusters {
		versions[c.Name] = c.KubeVersion
	}
	for i := range r.Apps {
		for j := range r.Apps[i].Destinations {
			d := &r.Apps[i].Destinations[j]
			if d.KubeVersion == "" {
				d.KubeVersion = versions[d.Cluster]
			}
		}
	}
}

// ClusterError is a validation failure in clusters[].
type ClusterError struct {
	// File is the registry file.
	File string
	// Index is the cluster's position in clusters[].
	Index int
	// Field is the field inside the cluster, e.g. kubeVersion.
	Field string
	// Err says what is wrong.
	Err error
}

// Error reads like `ferry.yaml: clusters[0]: kubeVersion: ...`.
func (e *ClusterError) Error() string {
	return fmt.Sprintf("%s: clusters[%d]: %s: %v", e.File, e.Index, e.Field, e.Err)
}

// Unwrap returns the cause and ErrInvalid.
func (e *ClusterError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// kubeVersionPattern accepts 1.37, v1.37, 1.37.2, v1.37.2-gke.1.
var kubeVersionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.+-]+)?$`)

func validateKubeVersion(v string) error {
	if !kubeVersionPattern.MatchString(v) {
		return fmt.Errorf("%q is not a Kubernetes version like 1.37 or v1.37.2", v)
	}
	return nil
}

// Validate checks names, required fields, paths and refs of every app.
func (r *Registry) Validate() error {
	var errs []error
	clusterSeen := make(map[string]int, len(r.Clusters))
	for i, c := range r.Clusters {
		if err := subject.ValidateName(c.Name); err != nil {
			errs = append(errs, &ClusterError{File: r.File, Index: i, Field: "name", Err: err})
		} else if j, dup := clusterSeen[c.Name]; dup {
			errs = append(errs, &ClusterError{File: r.File, Index: i, Field: "name", Err: fmt.Errorf("duplicate cluster, first declared at clusters[%d]", j)})
		} else {
			clusterSeen[c.Name] = i
		}
		if c.KubeVersion != "" {
			if err := validateKubeVersion(c.KubeVersion); err != nil {
				errs = append(errs, &ClusterError{File: r.File, Index: i, Field: "kubeVersion", Err: err})
			}
		}
	}
	seen := make(map[string]int, len(r.Apps))
	for i := range r.Apps {
		a := &r.Apps[i]
		fail := func(field string, err error) {
			errs = append(errs, &FieldError{File: r.File, Index: i, App: a.Name, Field: field, Err: err})
		}
		if err := subject.ValidateName(a.Name); err != nil {
			fail("name", err)
		} else if j, dup := seen[a.Name]; dup {
			fail("name", fmt.Errorf("duplicate app name, first declared at apps[%d]", j))
		} else {
			seen[a.Name] = i
		}
		if strings.TrimSpace(a.Source.Repo) == "" {
			fail("source.repo", errors.New("is required"))
		} else if strings.ContainsAny(a.Source.Repo, " \t\n") {
			fail("source.repo", fmt.Errorf("%q contains whitespace", a.Source.Repo))
		} else if _, err := repoid.Parse(a.Source.Repo); err != nil {
			fail("source.repo", err)
		}
		if strings.TrimSpace(a.Source.Path) == "" {
			fail("source.path", errors.New(`is required ("." for the repository root)`))
		} else if err := validatePath(a.Source.Path); err != nil {
			fail("source.path", err)
		}
		if a.Source.Ref != "" {
			if err := validateRef(a.Source.Ref); err != nil {
				fail("source.ref", err)
			}
		}
		if len(a.Destinations) == 0 {
			fail("destinations", errors.New("at least one destination is required"))
		}
		for j, ig := range a.IgnoreDifferences {
			field := fmt.Sprintf("ignoreDifferences[%d].jsonPointers", j)
			if len(ig.JSONPointers) == 0 {
				fail(field, errors.New("at least one JSON pointer is required"))
			}
			for k, p := range ig.JSONPointers {
				if !strings.HasPrefix(p, "/") {
					fail(fmt.Sprintf("%s[%d]", field, k), fmt.Errorf("%q is not a JSON pointer: write it like /spec/replicas", p))
				}
			}
		}
		clusters := make(map[string]int, len(a.Destinations))
		for j, d := range a.Destinations {
			field := fmt.Sprintf("destinations[%d]", j)
			if err := subject.ValidateName(d.Cluster); err != nil {
				fail(field+".cluster", err)
			} else if k, dup := clusters[d.Cluster]; dup {
				fail(field+".cluster", fmt.Errorf("%q is already a destination at destinations[%d]", d.Cluster, k))
			} else {
				clusters[d.Cluster] = j
			}
			if d.Namespace != "" {
				if err := subject.ValidateName(d.Namespace); err != nil {
					fail(field+".namespace", err)
				}
			} else if a.Sync.CreateNamespace {
				fail(field+".namespace", errors.New("sync.createNamespace is on, so every destination needs a namespace to create"))
			}
			if d.Ref != "" {
				if err := validateRef(d.Ref); err != nil {
					fail(field+".ref", err)
				}
			}
			if d.Path != "" {
				if err := validatePath(d.Path); err != nil {
					fail(field+".path", err)
				}
			}
			if d.KubeVersion != "" {
				if err := validateKubeVersion(d.KubeVersion); err != nil {
					fail(field+".kubeVersion", err)
				}
			}
			for k, v := range d.Values {
				if strings.TrimSpace(v) == "" {
					fail(fmt.Sprintf("%s.values[%d]", field, k), errors.New("is empty"))
				} else if err := validatePath(v); err != nil {
					fail(fmt.Sprintf("%s.values[%d]", field, k), err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// validatePath accepts a relative path that stays inside the repository.
func validatePath(p string) error {
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must be relative to the repository root", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("%q must not contain \"..\"", p)
		}
	}
	return nil
}

// validateRef accepts a branch name as git check-ref-format would, roughly.
func validateRef(ref string) error {
	switch {
	case strings.HasPrefix(ref, "refs/"):
		return fmt.Errorf("%q: give the branch name without refs/heads/", ref)
	case strings.ContainsAny(ref, " \t\n~^:?*[\\"), strings.Contains(ref, ".."), strings.Contains(ref, "@{"),
		strings.HasPrefix(ref, "-"), strings.HasPrefix(ref, "/"), strings.HasSuffix(ref, "/"),
		strings.HasSuffix(ref, ".lock"), strings.HasSuffix(ref, "."):
		return fmt.Errorf("%q is not a valid branch name", ref)
	}
	return nil
}
