// Package web is Ferry's dashboard: server-rendered pages of every app
// in every cluster, read from JetStream and KV through pkg/fleet, kept
// live with Server-Sent Events, and, for a logged-in operator, buttons
// that send sync, rollback, suspend and resume commands.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/logging"
)

// maxFormBytes bounds a POST body: forms carry a few short fields.
const maxFormBytes = 16 << 10

// Server serves the dashboard.
type Server struct {
	fleet   *fleet.Client
	opts    Options
	auth    *auth
	logins  *loginThrottle
	diffs   *diffThrottle
	hub     *hub
	pages   *pages
	results *resultLog
	log     *slog.Logger
	now     func() time.Time
	// following is set while the live updates' subscription is up.
	following atomic.Bool
}

// New returns a dashboard reading through fc.
func New(fc *fleet.Client, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{fleet: fc, opts: opts, auth: newAuth(opts.OperatorToken, opts.SessionTTL), hub: newHub(),
		pages: p, results: newResultLog(), log: logging.Discard(), now: time.Now}
	s.logins = newLoginThrottle(func() time.Time { return s.now() })
	s.diffs = newDiffThrottle(func() time.Time { return s.now() })
	return s, nil
}

// Handler routes every page, the event stream and the static files.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.grid)
	mux.HandleFunc("GET /apps/{app}", s.app)
	mux.HandleFunc("GET /apps/{app}/diff/{cluster}", s.diff)
	mux.HandleFunc("POST /apps/{app}/commands", s.command)
	mux.HandleFunc("GET /clusters/{cluster}", s.cluster)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /events", s.events)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	return s.secure(mux)
}

// secure sets the headers every response carries and bounds POST bodies.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// Run serves the dashboard on ln until ctx is done: it follows Ferry's
// event streams for the live updates, and on shutdown ends every event
// stream, then lets requests in flight finish within ShutdownTimeout.
// The logger of ctx is used.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	s.log = logging.From(ctx)
	fctx, stopFollow := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { defer close(followed); s.follow(fctx) }()
	defer func() { stopFollow(); <-followed }()

	base := context.WithoutCancel(ctx)
	srv := &http.Server{
		Handler:           s.Handler(),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      s.opts.CommandTimeout + 15*time.Second, // the event stream lifts it
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	srv.RegisterOnShutdown(s.hub.close)
	s.log.Info("dashboard listening", "url", "http://"+ln.Addr().String(), "operator_actions", s.auth != nil)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(base, s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve dashboard: %w", serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down dashboard: %w", err)
	}
	s.log.Info("dashboard stopped")
	return nil
}

// follow feeds the hub from one subscription to Ferry's event streams
// until ctx is done, subscribing again when the subscription ends early.
func (s *Server) follow(ctx context.Context) {
	for ctx.Err() == nil {
		evs, err := s.fleet.Follow(ctx, fleet.Filter{}, time.Time{})
		if err != nil {
			s.log.Warn("follow events for live updates; retrying", "error", err)
		} else {
			s.following.Store(true)
			for ev := range evs {
				s.hub.publish(ev)
			}
			s.following.Store(false)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// readyz answers 200 once the dashboard follows Ferry's events, so pages
// opened from then on update live; 503 before and while NATS is away.
// /healthz only says the server answers.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.following.Load() {
		http.Error(w, "not following Ferry's event streams yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Run serves a dashboard on ln, reading through fc, until ctx is done.
func Run(ctx context.Context, fc *fleet.Client, ln net.Listener, opts Options) error {
	s, err := New(fc, opts)
	if err != nil {
		_ = ln.Close()
		return err
	}
	return s.Run(ctx, ln)
}
