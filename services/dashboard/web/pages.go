package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// fragmentHeader asks for a page's main section only: the live script
// sends it when it re-fetches the page after an event.
const fragmentHeader = "X-Ferry-Fragment"

// pageNames are the pages; each is parsed with the layout.
var pageNames = []string{"grid", "app", "diff", "cluster", "login", "error"}

// pages holds one template set per page.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs()).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// page is what every template gets.
type page struct {
	Title string
	// Session is the logged-in operator; nil when read-only.
	Session *session
	// Operable is set when the dashboard has an operator token.
	Operable bool
	// Events is the event stream URL the page follows; empty for none.
	Events string
	// Refresh, in seconds, re-fetches the page even without events, so ages
	// and heartbeats stay current; 0 for never.
	Refresh int
	// Path is the page's own path, for the login link's return.
	Path string
	Now  time.Time
	View any
	// Rejections are the platform repositories whose latest ferry.yaml
	// was rejected: a banner on the pages that show the registry.
	Rejections []fleet.RegistryReading
}

// render writes the page name with view, only its main section when the
// live script asks for that. It renders into a buffer first, so a
// template error is a clean 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Session = s.auth.sessionOf(r)
	p.Operable = s.auth != nil
	p.Now = s.now()
	p.Path = r.URL.RequestURI()
	entry := "layout"
	if r.Header.Get(fragmentHeader) != "" {
		entry = "main"
	}
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, entry, p); err != nil {
		s.log.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorView is the error page's content.
type errorView struct {
	Status  int
	Message string
}

// fail renders the error page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", page{Title: http.StatusText(status), View: errorView{Status: status, Message: msg}})
}

// eventsURL is the event stream of one app and/or cluster.
func eventsURL(app, cluster string) string {
	q := url.Values{}
	if app != "" {
		q.Set("app", app)
	}
	if cluster != "" {
		q.Set("cluster", cluster)
	}
	if len(q) == 0 {
		return "/events"
	}
	return "/events?" + q.Encode()
}

// staticHandler serves the embedded CSS and JavaScript.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
