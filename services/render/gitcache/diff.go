package gitcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Entry returns the object id of name in the snapshot's tree and whether
// it is a directory; ok is false when name does not exist. It reads no
// file content.
func (s *Snapshot) Entry(name string) (id string, dir bool, ok bool, err error) {
	name = path.Clean(name)
	if name == "." || name == "" {
		return s.tree.Hash.String(), true, true, nil
	}
	e, err := s.tree.FindEntry(name)
	if err != nil {
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrFileNotFound) {
			return "", false, false, nil
		}
		return "", false, false, fmt.Errorf("look up %s: %w", name, err)
	}
	return e.Hash.String(), e.Mode == filemode.Dir, true, nil
}

// Listing returns an id of the names and types in directory name (not of
// their contents); ok is false when name is not a directory.
func (s *Snapshot) Listing(name string) (id string, ok bool, err error) {
	tree := s.tree
	if name = path.Clean(name); name != "." && name != "" {
		if tree, err = s.tree.Tree(name); err != nil {
			if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("list %s: %w", name, err)
		}
	}
	h := sha256.New()
	for _, e := range tree.Entries {
		fmt.Fprintf(h, "%s\x00%o\n", e.Name, uint32(e.Mode))
	}
	return hex.EncodeToString(h.Sum(nil)), true, nil
}

// HasCommit reports whether rev is a commit in the snapshot's repository.
func (s *Snapshot) HasCommit(rev string) bool {
	h := plumbing.NewHash(rev)
	if h.IsZero() || h.String() != rev {
		return false
	}
	_, err := s.repo.CommitObject(h)
	return err == nil
}

// Descends reports whether the snapshot's commit descends from rev (a
// fast-forward push from rev), false for a forced push or an unknown rev.
func (s *Snapshot) Descends(rev string) (bool, error) {
	h := plumbing.NewHash(rev)
	if h.IsZero() || h.String() != rev {
		return false, nil
	}
	if h == s.Commit.Hash {
		return true, nil
	}
	from, err := s.repo.CommitObject(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read commit %s: %w", rev, err)
	}
	ok, err := from.IsAncestor(s.Commit)
	if err != nil {
		return false, fmt.Errorf("ancestry of %s: %w", rev, err)
	}
	return ok, nil
}

// ChangedSince returns the paths of files added, removed or modified
// between commit rev and the snapshot's commit, from a diff of their
// trees (only subtrees whose ids differ are descended into).
func (s *Snapshot) ChangedSince(ctx context.Context, rev string) ([]string, error) {
	h := plumbing.NewHash(rev)
	if h == s.Commit.Hash {
		return nil, nil
	}
	from, err := s.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", rev, err)
	}
	fromTree, err := from.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", rev, err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, fromTree, s.tree, &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s: %w", rev, s.Commit.Hash, err)
	}
	seen := make(map[string]bool, len(changes))
	var out []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out, nil
}
