// Package source turns an app's directory at one commit into Kubernetes
// manifests. A Tool renders one kind of source (Kustomize, Helm and plain
// YAML); Detect picks the tool the way Argo CD does, from marker files.
package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

// Request is what a tool renders: one app directory for one destination.
type Request struct {
	// Root is the whole repository tree at the revision being rendered, so
	// a kustomization can use bases outside the app directory. Tools read
	// through it only, which lets the caller record the inputs of a render.
	Root fs.FS
	// Path is the app directory relative to the repository root ("." for
	// the root); file names in errors are reported relative to the root.
	Path string
	// Name is the app's name, the Helm release name.
	Name string
	// Namespace is the destination's default namespace.
	Namespace string
	// Values are value files relative to the app directory (Helm).
	Values []string
	// ValuesObject are inline values, applied after the files (Helm).
	ValuesObject map[string]any
	// KubeVersion is the target cluster's Kubernetes version, e.g. "1.37",
	// for Helm's .Capabilities; empty means registry.DefaultKubeVersion.
	KubeVersion string

	// limits are set by RenderWithin: Plain stops reading once its output
	// would be too large, Helm stops templating after HelmTimeout.
	limits Limits
}

// dir returns the app directory as its own file system.
func (r Request) dir() (fs.FS, error) {
	if isRoot(r.Path) {
		return r.Root, nil
	}
	return fs.Sub(r.Root, r.Path)
}

// Tool renders one kind of source.
type Tool interface {
	// Name is the tool's name as published in DesiredState.tool.
	Name() string
	// Detect reports whether fsys is a source this tool renders.
	Detect(fsys fs.FS) (bool, error)
	// Render returns multi-document YAML. Errors caused by the content
	// (not by I/O) are *Error so they can be reported against a file.
	Render(ctx context.Context, req Request) ([]byte, error)
}

// Error is a render failure caused by the source itself (bad YAML, an
// unsupported tool): retrying does not help, the author must fix the commit.
type Error struct {
	// File is the offending file relative to the repository root, if known.
	File string
	// Err is the cause.
	Err error
}

// Error is the cause's message, which names the file itself.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrUnsupported reports a source that needs a tool this build lacks.
var ErrUnsupported = errors.New("unsupported source")

// Tools returns the tools in detection order: Kustomize, Helm, then plain
// YAML, which takes anything.
func Tools() []Tool {
	return []Tool{Kustomize{}, Helm{}, Plain{}}
}

// Detect returns the first of tools whose Detect accepts fsys.
func Detect(fsys fs.FS, tools []Tool) (Tool, error) {
	for _, t := range tools {
		ok, err := t.Detect(fsys)
		if err != nil {
			return nil, fmt.Errorf("detect %s: %w", t.Name(), err)
		}
		if ok {
			return t, nil
		}
	}
	return nil, &Error{Err: fmt.Errorf("%w: no tool recognises the directory", ErrUnsupported)}
}

// marker returns the first of names that exists as a file at the root of fsys.
func marker(fsys fs.FS, names []string) (string, bool, error) {
	for _, n := range names {
		info, err := fs.Stat(fsys, n)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", false, err
		}
		if !info.IsDir() {
			return n, true, nil
		}
	}
	return "", false, nil
}
