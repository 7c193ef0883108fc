package web

import (
	"context"
	"errors"
	"net/http"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// errNoDiffQuery is returned until pkg/fleet can ask a worker for a diff.
var errNoDiffQuery = errors.New("this build of the dashboard cannot ask workers for diffs yet (pkg/fleet has no Diff)")

// askDiff asks cluster's worker how app's live objects differ.
func (s *Server) askDiff(_ context.Context, _, _ string, _ *http.Request) (*ferryv1.DiffResponse, error) {
	return nil, errNoDiffQuery
}
