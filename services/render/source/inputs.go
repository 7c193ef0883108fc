package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// Access is how a render looked at a path of the repository tree.
type Access uint8

// The ways a render looks at a path; a path can be looked at in several.
const (
	// Read means the content of a file was read (or a read found nothing).
	Read Access = 1 << iota
	// Probe means only the existence and type of a path were asked for.
	Probe
	// List means the names and types in a directory were listed.
	List
)

// Inputs records every path of the repository tree a render looked at and
// how. A render is a function of what it saw: when every recorded path
// looks the same in another tree, rendering that tree gives the same
// output. It is safe for concurrent use.
type Inputs struct {
	mu    sync.Mutex
	paths map[string]Access
}

// NewInputs returns an empty record.
func NewInputs() *Inputs { return &Inputs{paths: map[string]Access{}} }

// Record wraps root so that every path opened, read, listed or probed
// through it is added to the returned Inputs. Paths are relative to root.
func Record(root fs.FS) (fs.FS, *Inputs) {
	in := NewInputs()
	return &recFS{inner: root, prefix: ".", in: in}, in
}

func (in *Inputs) add(p string, a Access) {
	in.mu.Lock()
	in.paths[p] |= a
	in.mu.Unlock()
}

// Len is the number of paths recorded.
func (in *Inputs) Len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.paths)
}

// Paths returns the recorded paths, sorted, with how each was used.
func (in *Inputs) Paths() map[string]Access {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]Access, len(in.paths))
	for p, a := range in.paths {
		out[p] = a
	}
	return out
}

// Tree answers what a recorded access saw in one commit, from object ids
// alone, without reading file contents.
type Tree interface {
	// Entry returns the object id of path and whether it is a directory;
	// ok is false when path does not exist.
	Entry(path string) (id string, dir bool, ok bool, err error)
	// Listing returns an id of the names and types in directory dir; ok
	// is false when dir is not a directory.
	Listing(dir string) (id string, ok bool, err error)
}

// Observe evaluates every recorded access against tree: the result maps
// "<path>\x00<access>" to what was seen (a blob id, a type, a listing id).
func (in *Inputs) Observe(tree Tree) (Observation, error) {
	paths := in.Paths()
	obs := make(Observation, len(paths))
	for p, a := range paths {
		if err := observe(tree, p, a, obs); err != nil {
			return nil, err
		}
	}
	return obs, nil
}

// Observation is what a render's inputs looked like in one tree.
type Observation map[string]string

// Key is a digest of the observation: equal keys mean equal inputs.
func (o Observation) Key() string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\n", k, o[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Changed reports whether any observed path related to one of changed
// (a changed path itself, or a directory above it) looks different in
// tree. changed are file paths, e.g. from a tree diff.
func (o Observation) Changed(tree Tree, changed []string) (bool, error) {
	if len(changed) == 0 {
		return false, nil
	}
	ancestors := map[string]bool{".": true}
	for _, c := range changed {
		for p := c; p != "." && p != "/" && p != ""; p = path.Dir(p) {
			ancestors[p] = true
		}
	}
	for k, was := range o {
		p, a, err := splitKey(k)
		if err != nil {
			return true, err
		}
		if !ancestors[p] {
			continue
		}
		now := Observation{}
		if err := observe(tree, p, a, now); err != nil {
			return true, err
		}
		if now[k] != was {
			return true, nil
		}
	}
	return false, nil
}

func observe(tree Tree, p string, a Access, obs Observation) error {
	id, dir, ok, err := tree.Entry(p)
	if err != nil {
		return fmt.Errorf("observe %s: %w", p, err)
	}
	kind := "missing"
	switch {
	case ok && dir:
		kind = "dir"
	case ok:
		kind = "file"
	}
	if a&Probe != 0 {
		obs[p+"\x00p"] = kind
	}
	if a&Read != 0 {
		if ok && !dir {
			obs[p+"\x00r"] = id
		} else {
			obs[p+"\x00r"] = kind
		}
	}
	if a&List != 0 {
		lid, isDir, err := tree.Listing(p)
		if err != nil {
			return fmt.Errorf("observe %s: %w", p, err)
		}
		if !isDir {
			lid = kind
		}
		obs[p+"\x00l"] = lid
	}
	return nil
}

func splitKey(k string) (string, Access, error) {
	p, a, ok := strings.Cut(k, "\x00")
	if !ok {
		return "", 0, fmt.Errorf("malformed observation key %q", k)
	}
	switch a {
	case "p":
		return p, Probe, nil
	case "r":
		return p, Read, nil
	case "l":
		return p, List, nil
	}
	return "", 0, fmt.Errorf("malformed observation key %q", k)
}

// recFS is an fs.FS that records the paths used through it.
type recFS struct {
	inner  fs.FS
	prefix string // this FS's root, relative to the recorded root
	in     *Inputs
}

var (
	_ fs.ReadFileFS = (*recFS)(nil)
	_ fs.ReadDirFS  = (*recFS)(nil)
	_ fs.StatFS     = (*recFS)(nil)
	_ fs.SubFS      = (*recFS)(nil)
)

func (r *recFS) full(name string) string { return path.Join(r.prefix, name) }

// Open records a directory as listed (it is opened to be read) and a file as read.
func (r *recFS) Open(name string) (fs.File, error) {
	f, err := r.inner.Open(name)
	if err != nil {
		r.in.add(r.full(name), Probe)
		return nil, err
	}
	info, err := f.Stat()
	if err == nil && info.IsDir() {
		r.in.add(r.full(name), List)
	} else {
		r.in.add(r.full(name), Read)
	}
	return f, nil
}

// ReadFile records name as read.
func (r *recFS) ReadFile(name string) ([]byte, error) {
	r.in.add(r.full(name), Read)
	return fs.ReadFile(r.inner, name)
}

// ReadDir records name as listed.
func (r *recFS) ReadDir(name string) ([]fs.DirEntry, error) {
	r.in.add(r.full(name), List)
	return fs.ReadDir(r.inner, name)
}

// Stat records name as probed.
func (r *recFS) Stat(name string) (fs.FileInfo, error) {
	r.in.add(r.full(name), Probe)
	return fs.Stat(r.inner, name)
}

// Sub records dir as probed and returns a recording FS rooted there.
func (r *recFS) Sub(dir string) (fs.FS, error) {
	r.in.add(r.full(dir), Probe)
	sub, err := fs.Sub(r.inner, dir)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(sub, "."); err != nil && errors.Is(err, fs.ErrNotExist) {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: fs.ErrNotExist}
	}
	return &recFS{inner: sub, prefix: r.full(dir), in: r.in}, nil
}

// At evaluates the same accesses against another tree.
func (o Observation) At(tree Tree) (Observation, error) {
	accesses := make(map[string]Access, len(o))
	for k := range o {
		p, a, err := splitKey(k)
		if err != nil {
			return nil, err
		}
		accesses[p] |= a
	}
	now := make(Observation, len(o))
	for p, a := range accesses {
		if err := observe(tree, p, a, now); err != nil {
			return nil, err
		}
	}
	return now, nil
}
