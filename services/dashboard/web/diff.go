package web

import (
	"context"
	"net/http"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// diffView is the diff page's content.
type diffView struct {
	App, Cluster string
	Response     *ferryv1.DiffResponse
	// Unavailable says why there is no diff to show.
	Unavailable string
}

// diff serves GET /apps/{app}/diff/{cluster}: live vs desired, as the
// cluster's worker computes it by a server-side dry run, asked again
// whenever the app changes in that cluster.
func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	app, cl := r.PathValue("app"), r.PathValue("cluster")
	if subject.ValidateName(app) != nil || subject.ValidateName(cl) != nil {
		s.fail(w, r, http.StatusNotFound, "app and cluster names are DNS-1123 labels")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.CommandTimeout)
	defer cancel()
	v := diffView{App: app, Cluster: cl}
	resp, err := s.fleet.Diff(ctx, cl, app)
	switch {
	case err != nil:
		v.Unavailable = err.Error()
	case resp.GetError() != "":
		v.Unavailable = resp.GetError()
	default:
		v.Response = resp
	}
	// Live: a drift or sync of the app in this cluster fetches a new diff.
	s.render(w, r, http.StatusOK, "diff", page{Title: app + " diff in " + cl, Events: eventsURL(app, cl), View: v})
}
