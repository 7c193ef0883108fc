package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// readOnlyMessage answers a login or an action on a dashboard without
// an operator token.
const readOnlyMessage = "this dashboard is read-only: start it with --operator-token-file to allow operator actions"

// loginView is the login page's content.
type loginView struct {
	Next  string
	Name  string
	Error string
}

// loginForm serves GET /login.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", page{Title: "Operator login", View: loginView{Next: localPath(r.URL.Query().Get("next"))}})
}

// login serves POST /login: a right token and a name set the session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.auth == nil {
		s.fail(w, r, http.StatusForbidden, readOnlyMessage)
		return
	}
	if err := sameOrigin(r); err != nil {
		s.fail(w, r, http.StatusForbidden, err.Error())
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "could not read the form: "+err.Error())
		return
	}
	v := loginView{Next: localPath(r.PostFormValue("next")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	client := s.clientAddr(r)
	if wait := s.logins.wait(client); wait > 0 {
		s.log.Warn("operator login throttled", "remote", client, "name", v.Name, "retry_after", wait.String())
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		v.Error = "Too many wrong tokens from this address: try again in " + wait.String() + "."
		s.render(w, r, http.StatusTooManyRequests, "login", page{Title: "Operator login", View: v})
		return
	}
	if err := s.auth.checkToken(r.PostFormValue("token")); err != nil {
		s.logins.failed(client)
		s.log.Warn("operator login refused", "remote", client, "name", v.Name)
		v.Error = "That is not the operator token. It is in the file given by --operator-token-file (ferry dev prints it)."
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Operator login", View: v})
		return
	}
	value, err := s.auth.issue(v.Name)
	if errors.Is(err, errBadName) {
		v.Error = "Give a name of 1-40 letters, digits, '.', '_' or '-': it is recorded with every action you take."
		s.render(w, r, http.StatusBadRequest, "login", page{Title: "Operator login", View: v})
		return
	}
	s.log.Info("operator logged in", "name", v.Name, "remote", client)
	http.SetCookie(w, s.auth.cookie(r, value))
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// logout serves POST /logout.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.operator(w, r)
	if !ok {
		return
	}
	s.log.Info("operator logged out", "name", sess.Name, "remote", s.clientAddr(r))
	http.SetCookie(w, s.auth.cookie(r, ""))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// operator returns the session of a POST that may act: logged in, with
// the session's CSRF token, from this site. Otherwise it answers 403.
func (s *Server) operator(w http.ResponseWriter, r *http.Request) (*session, bool) {
	if s.auth == nil {
		s.fail(w, r, http.StatusForbidden, readOnlyMessage)
		return nil, false
	}
	sess := s.auth.sessionOf(r)
	if sess == nil {
		s.fail(w, r, http.StatusForbidden, "log in as an operator first")
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "could not read the form: "+err.Error())
		return nil, false
	}
	if err := s.auth.checkCSRF(r, sess); err != nil {
		s.fail(w, r, http.StatusForbidden, err.Error())
		return nil, false
	}
	return sess, true
}

// command serves POST /apps/{app}/commands: it sends the form's command
// in the name of the logged-in operator, waits for the worker's answer
// and shows it on the app page.
func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.operator(w, r)
	if !ok {
		return
	}
	app, cl := r.PathValue("app"), r.PostFormValue("cluster")
	if err := errors.Join(subject.ValidateName(app), subject.ValidateName(cl)); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	verb, err := fleet.Verb(r.PostFormValue("verb"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	cmd := &ferryv1.Command{App: app, Cluster: cl, Verb: verb, Revision: strings.TrimSpace(r.PostFormValue("revision")),
		RequestedBy: requester(sess, s.clientAddr(r))}
	if verb != ferryv1.Verb_VERB_ROLLBACK {
		cmd.Revision = ""
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.CommandTimeout)
	defer cancel()
	var last *ferryv1.SyncResult
	res, err := s.fleet.Command(ctx, cmd, func(r *ferryv1.SyncResult) { last = r })
	out := &commandResult{Command: cmd, Result: res, At: s.now()}
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) && last != nil:
		out.Result = last // applied; health still awaited
	case errors.Is(err, context.DeadlineExceeded):
		out.Err = "sent, but the worker of " + cl + " did not answer within " + s.opts.CommandTimeout.String() + "; it may still carry it out"
	default:
		out.Err = err.Error()
	}
	s.log.Info("operator command", "app", app, "cluster", cl, "verb", r.PostFormValue("verb"), "revision", cmd.Revision,
		"requested_by", cmd.RequestedBy, "command", cmd.GetId(), "error", out.Err)
	id := s.results.add(out)
	http.Redirect(w, r, "/apps/"+app+"?result="+id+"#dest-"+cl, http.StatusSeeOther)
}

// localPath returns p when it is a path on this site, else "/".
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || u.Host != "" {
		return "/"
	}
	return p
}
