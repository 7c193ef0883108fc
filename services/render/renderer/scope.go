package renderer

import (
	"context"

	"github.com/ferrycd/ferry/services/render/gitcache"
)

// scope is what one push changed. Changed paths come from diffing Git
// trees, never from the webhook's commit list, which hosts truncate.
type scope struct {
	// all is set for a first push (before = zeros) and a forced push
	// (before is not an ancestor of after): every target renders.
	all   bool
	diffs map[string][]string // changed paths since a revision, by revision
}

// newScope classifies the push from before to snap's commit.
func newScope(ctx context.Context, snap *gitcache.Snapshot, before string) (*scope, error) {
	s := &scope{diffs: map[string][]string{}}
	if before == "" || before == zeroCommit {
		s.all = true
		return s, nil
	}
	ok, err := snap.Descends(before)
	if err != nil {
		return nil, err
	}
	s.all = !ok
	return s, nil
}

// allScope renders every target (a registry change, a first render).
func allScope() *scope { return &scope{all: true, diffs: map[string][]string{}} }

// touches reports whether anything rec's render used differs between
// rec's revision and snap. The diff from a revision is computed once per
// push; usually every record is at the push's before.
func (s *scope) touches(ctx context.Context, snap *gitcache.Snapshot, rec *record) (bool, error) {
	if s.all {
		return true, nil
	}
	changed, ok := s.diffs[rec.rev]
	if !ok {
		if !snap.HasCommit(rec.rev) {
			return true, nil
		}
		var err error
		if changed, err = snap.ChangedSince(ctx, rec.rev); err != nil {
			return false, err
		}
		s.diffs[rec.rev] = changed
	}
	return rec.obs.Changed(snap, changed)
}
