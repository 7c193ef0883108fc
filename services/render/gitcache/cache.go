// Package gitcache keeps one bare clone per repository on disk and fetches
// into it incrementally. Render reads files straight from commit trees;
// there is no working tree.
package gitcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/ferrycd/ferry/pkg/subject"
)

// ErrRevisionNotFound reports a commit the remote did not provide.
var ErrRevisionNotFound = errors.New("revision not found")

// ErrBranchNotFound reports a branch the remote does not have (yet).
var ErrBranchNotFound = errors.New("branch not found")

// remoteName is the remote every cached repository fetches from.
const remoteName = "origin"

// Cache holds bare repositories under Dir, one per clone URL.
type Cache struct {
	dir     string
	timeout time.Duration

	mu    sync.Mutex
	repos map[string]*repoEntry

	inits, fetches, hits atomic.Int64
}

// repoEntry is one cached repository; mu serialises fetches and reads.
type repoEntry struct {
	mu   sync.Mutex
	repo *git.Repository
	url  string
}

// Stats counts what the cache did since it was created.
type Stats struct {
	// Inits is how many repositories were created on disk (first clones).
	Inits int64
	// Fetches is how many fetches went to a remote.
	Fetches int64
	// Hits is how many checkouts found the commit without fetching.
	Hits int64
}

// New returns a cache rooted at dir, created if missing. fetchTimeout bounds
// each fetch; zero means one minute.
func New(dir string, fetchTimeout time.Duration) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("gitcache: dir is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create git cache dir: %w", err)
	}
	if fetchTimeout <= 0 {
		fetchTimeout = time.Minute
	}
	return &Cache{dir: dir, timeout: fetchTimeout, repos: map[string]*repoEntry{}}, nil
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	return Stats{Inits: c.inits.Load(), Fetches: c.fetches.Load(), Hits: c.hits.Load()}
}

// Dir returns the directory of the bare repository for url.
func (c *Cache) Dir(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(c.dir, subject.RepoKey(url)+"-"+hex.EncodeToString(sum[:4])+".git")
}

// Checkout makes commit rev of branch available, fetching only when the
// cache does not hold it yet, and returns a snapshot of it. The snapshot
// holds the repository's lock until Close, so fetches and reads of one
// repository never overlap.
func (c *Cache) Checkout(ctx context.Context, url, branch, rev string) (*Snapshot, error) {
	want := plumbing.NewHash(rev)
	if want.IsZero() || want.String() != rev {
		return nil, fmt.Errorf("revision %q is not a full commit id", rev)
	}
	e := c.entry(url)
	e.mu.Lock()
	snap, err := c.checkout(ctx, e, url, branch, want)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	snap.unlock = e.mu.Unlock
	return snap, nil
}

func (c *Cache) entry(url string) *repoEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.repos[url]
	if !ok {
		e = &repoEntry{}
		c.repos[url] = e
	}
	return e
}

func (c *Cache) checkout(ctx context.Context, e *repoEntry, url, branch string, want plumbing.Hash) (*Snapshot, error) {
	if err := c.open(e, url); err != nil {
		return nil, err
	}
	local := plumbing.NewBranchReferenceName(branch)
	commit, err := e.repo.CommitObject(want)
	switch {
	case err == nil:
		c.hits.Add(1)
	case errors.Is(err, plumbing.ErrObjectNotFound):
		if commit, err = c.fetch(ctx, e, local, want); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("read commit %s: %w", want, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", want, err)
	}
	snap := &Snapshot{Commit: commit, tree: tree, repo: e.repo}
	if ref, err := e.repo.Reference(local, true); err == nil && ref.Hash() != want {
		if tip, err := e.repo.CommitObject(ref.Hash()); err == nil {
			snap.Tip = tip.Hash
			snap.superseded, _ = commit.IsAncestor(tip)
		}
	}
	return snap, nil
}

// open opens or creates the bare repository of url, once per process.
func (c *Cache) open(e *repoEntry, url string) error {
	if e.repo != nil {
		return nil
	}
	dir := c.Dir(url)
	repo, err := openBare(dir)
	if err != nil {
		// Missing, or half-written by a crash: start over.
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return fmt.Errorf("reset cache %s: %w (open: %w)", dir, rmErr, err)
		}
		if _, err = git.PlainInit(dir, true); err != nil {
			return fmt.Errorf("init cache %s: %w", dir, err)
		}
		if repo, err = openBare(dir); err != nil {
			return fmt.Errorf("open new cache %s: %w", dir, err)
		}
		c.inits.Add(1)
	}
	if err := setRemote(repo, url); err != nil {
		return err
	}
	e.repo, e.url = repo, url
	return nil
}

// openBare opens the bare repository in dir with an object cache and
// pack files kept open between reads, which a long-lived cache wants.
func openBare(dir string) (*git.Repository, error) {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); errors.Is(err, os.ErrNotExist) {
		return nil, git.ErrRepositoryNotExists
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(8*cache.MiByte),
		filesystem.Options{MaxOpenDescriptors: 16})
	return git.Open(st, nil)
}

func setRemote(repo *git.Repository, url string) error {
	if r, err := repo.Remote(remoteName); err == nil {
		if urls := r.Config().URLs; len(urls) == 1 && urls[0] == url {
			return nil
		}
		if err := repo.DeleteRemote(remoteName); err != nil {
			return fmt.Errorf("reset remote: %w", err)
		}
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{url}}); err != nil {
		return fmt.Errorf("set remote: %w", err)
	}
	return nil
}

// fetch brings branch up to date (incrementally: local refs tell the remote
// what we have) and, if want is still missing, asks for want by id.
func (c *Cache) fetch(ctx context.Context, e *repoEntry, local plumbing.ReferenceName, want plumbing.Hash) (*object.Commit, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.fetches.Add(1)
	spec := config.RefSpec("+" + local.String() + ":" + local.String())
	err := e.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: remoteName, RefSpecs: []config.RefSpec{spec}, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s from %s: %w", local.Short(), e.url, err)
	}
	if commit, err := e.repo.CommitObject(want); err == nil {
		return commit, nil
	}
	// The branch moved on (force push) or the host lags: ask for the commit itself.
	byID := config.RefSpec(want.String() + ":refs/ferry/" + want.String())
	err = e.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: remoteName, RefSpecs: []config.RefSpec{byID}, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("%w: %s in %s: %w", ErrRevisionNotFound, want, e.url, err)
	}
	commit, err := e.repo.CommitObject(want)
	if err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %w", ErrRevisionNotFound, want, e.url, err)
	}
	return commit, nil
}

// Latest fetches branch of url and returns a snapshot of its tip, for
// rendering a repository no push has been seen for yet (an app just added
// to the registry). Like Checkout, the snapshot holds the repository's
// lock until Close.
func (c *Cache) Latest(ctx context.Context, url, branch string) (*Snapshot, error) {
	e := c.entry(url)
	e.mu.Lock()
	snap, err := c.latest(ctx, e, url, branch)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	snap.unlock = e.mu.Unlock
	return snap, nil
}

func (c *Cache) latest(ctx context.Context, e *repoEntry, url, branch string) (*Snapshot, error) {
	if err := c.open(e, url); err != nil {
		return nil, err
	}
	local := plumbing.NewBranchReferenceName(branch)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.fetches.Add(1)
	spec := config.RefSpec("+" + local.String() + ":" + local.String())
	err := e.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: remoteName, RefSpecs: []config.RefSpec{spec}, Tags: git.NoTags, Force: true})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) || errors.Is(err, git.NoMatchingRefSpecError{}) {
		return nil, fmt.Errorf("%w: %s in %s: %w", ErrBranchNotFound, branch, url, err)
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s from %s: %w", branch, url, err)
	}
	ref, err := e.repo.Reference(local, true)
	if err != nil {
		return nil, fmt.Errorf("%w: branch %s in %s: %w", ErrRevisionNotFound, branch, url, err)
	}
	commit, err := e.repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", ref.Hash(), err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", ref.Hash(), err)
	}
	return &Snapshot{Commit: commit, tree: tree, repo: e.repo}, nil
}
