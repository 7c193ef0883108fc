package gitcache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeFS is a read-only fs.FS over a Git tree. Symlinks show as
// fs.ModeSymlink entries (opening one yields the link text) and submodules
// as fs.ModeIrregular; file contents are read from the object store on Open.
type treeFS struct {
	tree *object.Tree
}

var (
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.SubFS      = (*treeFS)(nil)
)

// Open opens the file or directory name.
func (t *treeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &dirFile{tree: t.tree, info: dirInfo(".")}, nil
	}
	e, err := t.tree.FindEntry(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if e.Mode == filemode.Dir {
		sub, err := t.tree.Tree(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &dirFile{tree: sub, info: dirInfo(e.Name)}, nil
	}
	data, err := t.ReadFile(name)
	if err != nil {
		return nil, err
	}
	info := &entryInfo{name: e.Name, mode: fileMode(e.Mode), size: int64(len(data))}
	return &file{Reader: bytes.NewReader(data), info: info}, nil
}

// ReadFile returns the content of the blob at name.
func (t *treeFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	f, err := t.tree.File(name)
	if err != nil {
		if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
		}
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	r, err := f.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir lists the directory name, sorted by file name.
func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	sub, err := t.subtree("readdir", name)
	if err != nil {
		return nil, err
	}
	return entries(sub), nil
}

// Sub returns the file system rooted at dir.
func (t *treeFS) Sub(dir string) (fs.FS, error) {
	sub, err := t.subtree("sub", dir)
	if err != nil {
		return nil, err
	}
	return &treeFS{tree: sub}, nil
}

func (t *treeFS) subtree(op, name string) (*object.Tree, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return t.tree, nil
	}
	sub, err := t.tree.Tree(name)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return sub, nil
}

func entries(tree *object.Tree) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for i := range tree.Entries {
		out = append(out, &dirEntry{tree: tree, e: tree.Entries[i]})
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

func fileMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o755
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Submodule:
		return fs.ModeIrregular
	default:
		return 0o644
	}
}

// dirEntry is one tree entry; its size is looked up only when asked.
type dirEntry struct {
	tree *object.Tree
	e    object.TreeEntry
}

func (d *dirEntry) Name() string      { return d.e.Name }
func (d *dirEntry) IsDir() bool       { return d.e.Mode == filemode.Dir }
func (d *dirEntry) Type() fs.FileMode { return fileMode(d.e.Mode).Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) {
	info := &entryInfo{name: d.e.Name, mode: fileMode(d.e.Mode)}
	if d.e.Mode.IsFile() {
		f, err := d.tree.TreeEntryFile(&d.e)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", d.e.Name, err)
		}
		info.size = f.Size
	}
	return info, nil
}

// entryInfo is the fs.FileInfo of a tree entry. Git keeps no times.
type entryInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func dirInfo(name string) *entryInfo { return &entryInfo{name: name, mode: fs.ModeDir | 0o755} }

func (i *entryInfo) Name() string       { return i.name }
func (i *entryInfo) Size() int64        { return i.size }
func (i *entryInfo) Mode() fs.FileMode  { return i.mode }
func (i *entryInfo) ModTime() time.Time { return time.Time{} }
func (i *entryInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *entryInfo) Sys() any           { return nil }

// file is an opened blob, held in memory.
type file struct {
	*bytes.Reader
	info *entryInfo
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

// dirFile is an opened tree.
type dirFile struct {
	tree *object.Tree
	info *entryInfo
	list []fs.DirEntry
	read bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir follows fs.ReadDirFile: n <= 0 returns the rest, n > 0 at most n.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.list, d.read = entries(d.tree), true
	}
	if n <= 0 {
		out := d.list
		d.list = nil
		return out, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.list))
	out := d.list[:n]
	d.list = d.list[n:]
	return out, nil
}
