package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// errReadOnly is returned by every write to a kustomizeFS.
var errReadOnly = errors.New("the repository is read-only during a render")

// kustomizeFS adapts a read-only fs.FS of the whole repository to
// kustomize's filesys.FileSystem. The repository root is mounted at "/",
// so an overlay at /apps/web/overlays/prod can use ../../base; nothing is
// copied, files are read when kustomize asks for them.
//
// Every kustomization file read is checked for remote resources first:
// kustomize would clone them with the git CLI or fetch them over HTTP,
// and a render must only depend on the commit being rendered.
type kustomizeFS struct {
	fsys fs.FS

	mu     sync.Mutex
	remote error // the first remote reference found
}

var _ filesys.FileSystem = (*kustomizeFS)(nil)

// rel converts a kustomize path (absolute, or relative to "/") into an fs.FS name.
func rel(p string) string {
	p = filepath.ToSlash(p)
	p = path.Clean("/" + p)
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "."
	}
	return p
}

func abs(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

func (k *kustomizeFS) Create(p string) (filesys.File, error) {
	return nil, &fs.PathError{Op: "create", Path: p, Err: errReadOnly}
}
func (k *kustomizeFS) Mkdir(p string) error {
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}
func (k *kustomizeFS) MkdirAll(p string) error {
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}
func (k *kustomizeFS) RemoveAll(p string) error {
	return &fs.PathError{Op: "remove", Path: p, Err: errReadOnly}
}
func (k *kustomizeFS) WriteFile(p string, _ []byte) error {
	return &fs.PathError{Op: "write", Path: p, Err: errReadOnly}
}

// Open opens a file for reading.
func (k *kustomizeFS) Open(p string) (filesys.File, error) {
	data, err := k.ReadFile(p)
	if err != nil {
		return nil, err
	}
	info, err := fs.Stat(k.fsys, rel(p))
	if err != nil {
		return nil, err
	}
	return &kfile{Reader: strings.NewReader(string(data)), info: info}, nil
}

// IsDir reports whether p is a directory.
func (k *kustomizeFS) IsDir(p string) bool {
	info, err := fs.Stat(k.fsys, rel(p))
	return err == nil && info.IsDir()
}

// ReadDir returns the names in directory p.
func (k *kustomizeFS) ReadDir(p string) ([]string, error) {
	entries, err := fs.ReadDir(k.fsys, rel(p))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// CleanedAbs splits p into an existing directory and a file name (empty
// when p is itself a directory), as the on-disk implementation does.
func (k *kustomizeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	name := rel(p)
	info, err := fs.Stat(k.fsys, name)
	if err != nil {
		return "", "", fmt.Errorf("'%s' does not exist: %w", abs(name), err)
	}
	if info.IsDir() {
		return filesys.ConfirmedDir(abs(name)), "", nil
	}
	return filesys.ConfirmedDir(abs(path.Dir(name))), path.Base(name), nil
}

// Exists reports whether p exists.
func (k *kustomizeFS) Exists(p string) bool {
	_, err := fs.Stat(k.fsys, rel(p))
	return err == nil
}

// Glob returns the absolute paths matching pattern.
func (k *kustomizeFS) Glob(pattern string) ([]string, error) {
	matches, err := fs.Glob(k.fsys, rel(pattern))
	if err != nil {
		return nil, err
	}
	for i, m := range matches {
		matches[i] = abs(m)
	}
	return matches, nil
}

// ReadFile returns the content of p; a kustomization that refers to a
// remote resource fails here.
func (k *kustomizeFS) ReadFile(p string) ([]byte, error) {
	name := rel(p)
	data, err := fs.ReadFile(k.fsys, name)
	if err != nil {
		return nil, err
	}
	if isKustomization(path.Base(name)) {
		if ref, ok := remoteReference(data); ok {
			err := &Error{File: name, Err: fmt.Errorf("%s: %w: %q is a remote base; Ferry renders only what the commit holds (no network), vendor it into the repository", name, ErrUnsupported, ref)}
			k.mu.Lock()
			if k.remote == nil {
				k.remote = err
			}
			k.mu.Unlock()
			return nil, err
		}
	}
	return data, nil
}

// Walk walks the tree under p.
func (k *kustomizeFS) Walk(p string, fn filepath.WalkFunc) error {
	return fs.WalkDir(k.fsys, rel(p), func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(abs(name), nil, err)
		}
		info, ierr := d.Info()
		if ierr != nil {
			return fn(abs(name), nil, ierr)
		}
		return fn(abs(name), info, nil)
	})
}

func (k *kustomizeFS) remoteErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.remote
}

// kfile is a file opened for reading.
type kfile struct {
	*strings.Reader
	info fs.FileInfo
}

func (f *kfile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (f *kfile) Close() error               { return nil }
func (f *kfile) Stat() (os.FileInfo, error) { return f.info, nil }
