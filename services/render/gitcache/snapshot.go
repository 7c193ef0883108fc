package gitcache

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Snapshot is one commit of a cached repository, readable until Close.
type Snapshot struct {
	// Commit is the checked-out commit.
	Commit *object.Commit
	// Tip is the branch's newest known commit when it is not Commit.
	Tip plumbing.Hash

	tree       *object.Tree
	repo       *git.Repository
	superseded bool
	unlock     func()
}

// Superseded reports that the branch already moved past Commit: a newer
// push of the same branch is (or was) in flight and renders the newer tree.
func (s *Snapshot) Superseded() bool { return s.superseded }

// FS returns the repository tree at the commit as a read-only file system.
func (s *Snapshot) FS() fs.FS { return &treeFS{tree: s.tree} }

// ReadFile returns the content of the file at name (slash-separated,
// relative to the repository root). A missing file wraps fs.ErrNotExist.
func (s *Snapshot) ReadFile(name string) ([]byte, error) {
	return fs.ReadFile(s.FS(), path.Clean(name))
}

// Exists reports whether name is a file or directory in the commit.
func (s *Snapshot) Exists(name string) (bool, error) {
	_, err := fs.Stat(s.FS(), path.Clean(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat %s: %w", name, err)
	}
}

// Close releases the repository for the next fetch. It is safe to call twice.
func (s *Snapshot) Close() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}
