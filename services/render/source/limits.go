package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Flags of the render service that set Limits; a LimitError names the one
// to raise.
const (
	FlagMaxRenderedBytes = "max-rendered-bytes"
	FlagMaxObjectBytes   = "max-object-bytes"
	FlagMaxObjects       = "max-objects"
	FlagMaxRepoFiles     = "max-repo-files"
	FlagMaxRepoBytes     = "max-repo-bytes"
	FlagHelmTimeout      = "helm-timeout"
)

// FlagEnv is the environment variable a render flag falls back to:
// "max-objects" is FERRY_RENDER_MAX_OBJECTS.
func FlagEnv(flag string) string {
	return "FERRY_RENDER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Limits bound the cost of rendering one app for one destination, so a
// commit cannot make render, or the apply worker after it, run out of
// memory or time. A zero or negative field means no limit; the render
// service fills in its defaults (renderer.Options).
type Limits struct {
	// MaxRenderedBytes bounds the rendered manifests of the app.
	MaxRenderedBytes int64
	// MaxObjectBytes bounds one rendered object, measured as the JSON
	// sent to the API server.
	MaxObjectBytes int64
	// MaxObjects bounds the number of rendered objects.
	MaxObjects int
	// MaxRepoFiles bounds the distinct repository files a render reads.
	MaxRepoFiles int
	// MaxRepoBytes bounds the bytes of those files.
	MaxRepoBytes int64
	// HelmTimeout bounds Helm's templating of a chart.
	HelmTimeout time.Duration
}

// ErrLimit is wrapped by every LimitError.
var ErrLimit = errors.New("render limit exceeded")

// LimitError is a render that went over one of its Limits. It is a
// problem of the source, reported inside an *Error: raising the limit or
// changing the commit fixes it, retrying does not.
type LimitError struct {
	// What is what was measured, e.g. "rendered output of apps/web".
	What string
	// Found and Max are the value found and the limit, formatted.
	Found, Max string
	// Flag is the render flag that raises the limit.
	Flag string
}

// Error names the limit, the value found and the flag to raise it.
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %s is %s, over the limit of %s; render's --%s flag (env %s) raises it",
		ErrLimit, e.What, e.Found, e.Max, e.Flag, FlagEnv(e.Flag))
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }

// overLimit returns an *Error about file holding a LimitError.
func overLimit(file, what, found, limit, flag string) *Error {
	return &Error{File: file, Err: &LimitError{What: what, Found: found, Max: limit, Flag: flag}}
}

// sizeOf formats a byte count with its MiB, e.g. "17825792 bytes (17.0 MiB)".
func sizeOf(n int64) string {
	return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
}

// RenderWithin runs tool on req within lim: every file it reads through
// req.Root is counted against MaxRepoFiles and MaxRepoBytes, Helm's
// templating against HelmTimeout, and the output against
// MaxRenderedBytes. Going over a limit is an *Error holding a *LimitError.
func RenderWithin(ctx context.Context, tool Tool, req Request, lim Limits) ([]byte, error) {
	b := &readBudget{lim: lim, seen: map[string]bool{}}
	req.Root = &limitFS{inner: req.Root, prefix: ".", b: b}
	req.limits = lim
	data, err := tool.Render(ctx, req)
	// Tools may wrap or flatten the error of a read (kustomize does): the
	// budget's own record says which limit was hit.
	if berr := b.exceeded(); berr != nil {
		return nil, berr
	}
	if err != nil {
		return nil, err
	}
	if lim.MaxRenderedBytes > 0 && int64(len(data)) > lim.MaxRenderedBytes {
		return nil, overLimit(req.Path, "the rendered output of "+req.Path, sizeOf(int64(len(data))),
			sizeOf(lim.MaxRenderedBytes), FlagMaxRenderedBytes)
	}
	return data, nil
}

// CheckObjects checks parsed output against lim's MaxObjects and
// MaxObjectBytes. An object's size is its JSON encoding, what the worker
// sends to the API server; the API server refuses a request body over
// 3 MiB, and etcd stores at most 1.5 MiB by default. dir names the app
// directory in errors.
func CheckObjects(dir string, objs []*unstructured.Unstructured, lim Limits) error {
	if lim.MaxObjects > 0 && len(objs) > lim.MaxObjects {
		return overLimit(dir, "the number of objects rendered from "+dir, fmt.Sprint(len(objs)),
			fmt.Sprint(lim.MaxObjects), FlagMaxObjects)
	}
	if lim.MaxObjectBytes <= 0 {
		return nil
	}
	for _, u := range objs {
		raw, err := u.MarshalJSON()
		if err != nil {
			return &Error{File: dir, Err: fmt.Errorf("%s: encode %s/%s: %w", dir, u.GetKind(), u.GetName(), err)}
		}
		if n := int64(len(raw)); n > lim.MaxObjectBytes {
			ref := u.GetKind() + "/" + u.GetName()
			if ns := u.GetNamespace(); ns != "" {
				ref = u.GetKind() + "/" + ns + "/" + u.GetName()
			}
			return overLimit(dir, "object "+ref+" rendered from "+dir+" (as JSON)", sizeOf(n),
				sizeOf(lim.MaxObjectBytes), FlagMaxObjectBytes)
		}
	}
	return nil
}

// readBudget counts the distinct files one render reads and their bytes.
// It is shared by the limitFS of the repository root and of every
// directory below it.
type readBudget struct {
	lim Limits

	mu    sync.Mutex
	seen  map[string]bool // paths counted, relative to the repository root
	bytes int64
	err   *Error // the first limit exceeded
}

// count adds one read of size bytes at p (relative to the repository
// root) and returns the limit error once the budget is exceeded. A path
// read again is not counted again: its content is the same.
func (b *readBudget) count(p string, size int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	if b.seen[p] {
		return nil
	}
	b.seen[p] = true
	b.bytes += size
	switch {
	case b.lim.MaxRepoFiles > 0 && len(b.seen) > b.lim.MaxRepoFiles:
		b.err = overLimit(p, "the number of repository files read by this render", fmt.Sprintf("at least %d", len(b.seen)),
			fmt.Sprint(b.lim.MaxRepoFiles), FlagMaxRepoFiles)
	case b.lim.MaxRepoBytes > 0 && b.bytes > b.lim.MaxRepoBytes:
		b.err = overLimit(p, "the size of the repository files read by this render (at "+p+")", "at least "+sizeOf(b.bytes),
			sizeOf(b.lim.MaxRepoBytes), FlagMaxRepoBytes)
	}
	if b.err != nil {
		return b.err
	}
	return nil
}

// exceeded returns the limit error, if any, as an error (nil when none).
func (b *readBudget) exceeded() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		return nil
	}
	return b.err
}

// limitFS counts every file read through it against a readBudget. A file
// is counted after the underlying file system read it (the repository
// tree gives no cheaper size), so one file over the limit is read once;
// the render then stops.
type limitFS struct {
	inner  fs.FS
	prefix string // this FS's root, relative to the repository root
	b      *readBudget
}

var (
	_ fs.ReadFileFS = (*limitFS)(nil)
	_ fs.ReadDirFS  = (*limitFS)(nil)
	_ fs.StatFS     = (*limitFS)(nil)
	_ fs.SubFS      = (*limitFS)(nil)
)

// Open counts a file (not a directory) with its size.
func (l *limitFS) Open(name string) (fs.File, error) {
	f, err := l.inner.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		return f, nil // a directory costs no read; a Stat error shows on use
	}
	if err := l.b.count(path.Join(l.prefix, name), info.Size()); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads name and counts it.
func (l *limitFS) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(l.inner, name)
	if err != nil {
		return nil, err
	}
	if err := l.b.count(path.Join(l.prefix, name), int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}

// ReadDir lists name; listings are not counted.
func (l *limitFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(l.inner, name) }

// Stat probes name; probes are not counted.
func (l *limitFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(l.inner, name) }

// Sub returns the directory dir, counted against the same budget.
func (l *limitFS) Sub(dir string) (fs.FS, error) {
	sub, err := fs.Sub(l.inner, dir)
	if err != nil {
		return nil, err
	}
	return &limitFS{inner: sub, prefix: path.Join(l.prefix, dir), b: l.b}, nil
}
