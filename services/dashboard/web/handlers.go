package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/subject"
)

// readTimeout bounds the reads behind one page.
const readTimeout = 10 * time.Second

// grid serves GET /: every app × every cluster.
func (s *Server) grid(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	deps, err := s.fleet.Deployments(ctx, fleet.Filter{})
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	clusters, err := s.fleet.Clusters(ctx)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	rejections, err := s.fleet.RegistryRejections(ctx)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "grid", page{Title: "Apps", Events: eventsURL("", ""), Refresh: 30,
		View: newGrid(deps, clusters), Rejections: rejections})
}

// app serves GET /apps/{app}: each destination's objects, the history and
// the answer to a command just sent.
func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	app, ok := s.pathName(w, r, "app")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	deps, err := s.fleet.Deployments(ctx, fleet.Filter{App: app})
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	hist, err := s.fleet.History(ctx, app, fleet.Filter{})
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if len(deps) == 0 && len(hist) == 0 {
		s.fail(w, r, http.StatusNotFound, "Ferry knows no app named "+app+": is it in the platform repository's ferry.yaml, and was that pushed?")
		return
	}
	rejections, err := s.fleet.RegistryRejections(ctx)
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	v := newAppView(app, deps, hist)
	if id := r.URL.Query().Get("result"); id != "" {
		v.Result = s.results.get(id, s.now())
	}
	s.render(w, r, http.StatusOK, "app", page{Title: app, Events: eventsURL(app, ""), Refresh: 30, View: v, Rejections: rejections})
}

// cluster serves GET /clusters/{cluster}: the worker's heartbeat and the
// apps it runs.
func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	name, ok := s.pathName(w, r, "cluster")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	var cl *fleet.Cluster
	switch c, err := s.fleet.Cluster(ctx, name); {
	case err == nil:
		cl = &c
	case !errors.Is(err, fleet.ErrNotFound):
		s.readFailed(w, r, err)
		return
	}
	deps, err := s.fleet.Deployments(ctx, fleet.Filter{Cluster: name})
	if err != nil {
		s.readFailed(w, r, err)
		return
	}
	if cl == nil && len(deps) == 0 {
		s.fail(w, r, http.StatusNotFound, "Ferry knows no cluster named "+name+": no worker sent a heartbeat and no app is deployed there")
		return
	}
	s.render(w, r, http.StatusOK, "cluster", page{Title: name, Events: eventsURL("", name), Refresh: 10,
		View: newClusterView(name, cl, deps)})
}

// pathName is the path value key ("app" or "cluster") when it is a
// DNS-1123 label; otherwise it answers 404 and returns false.
func (s *Server) pathName(w http.ResponseWriter, r *http.Request, key string) (string, bool) {
	name := r.PathValue(key)
	if subject.ValidateName(name) != nil {
		s.fail(w, r, http.StatusNotFound, "no "+key+" named "+name+": "+key+" names are DNS-1123 labels")
		return "", false
	}
	return name, true
}

// readFailed answers a failed read of NATS with 503: the page can be
// retried once NATS answers again.
func (s *Server) readFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warn("read fleet state", "path", r.URL.Path, "error", err)
	s.fail(w, r, http.StatusServiceUnavailable, "could not read Ferry's state from NATS: "+err.Error())
}
