package web

import (
	"context"
	"fmt"
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
	// LogIn is set when an operator login would show the diff.
	LogIn bool
}

// diff serves GET /apps/{app}/diff/{cluster}: live vs desired, as the
// cluster's worker computes it by a server-side dry run, asked again
// whenever the app changes in that cluster. Only a logged-in operator
// gets the live diff (each costs the worker a dry run), within a rate
// per client address; anyone else sees the page with a notice.
func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	app, cl := r.PathValue("app"), r.PathValue("cluster")
	if subject.ValidateName(app) != nil || subject.ValidateName(cl) != nil {
		s.fail(w, r, http.StatusNotFound, "app and cluster names are DNS-1123 labels")
		return
	}
	v := diffView{App: app, Cluster: cl}
	live := page{Title: app + " diff in " + cl, Events: eventsURL(app, cl), View: &v}
	switch {
	case s.auth == nil:
		v.Unavailable = "the live diff has the cluster's worker dry-run the app, so it is for operators; " + readOnlyMessage
		s.render(w, r, http.StatusOK, "diff", page{Title: live.Title, View: &v})
		return
	case s.auth.sessionOf(r) == nil:
		v.Unavailable, v.LogIn = "the live diff has the cluster's worker dry-run the app, so it is for operators", true
		s.render(w, r, http.StatusOK, "diff", page{Title: live.Title, View: &v})
		return
	case !s.diffs.allow(s.clientAddr(r)):
		v.Unavailable = fmt.Sprintf("too many diffs asked from your address: one more every %s, try again in a moment", diffRefill)
		s.render(w, r, http.StatusTooManyRequests, "diff", live)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.CommandTimeout)
	defer cancel()
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
	s.render(w, r, http.StatusOK, "diff", live)
}
