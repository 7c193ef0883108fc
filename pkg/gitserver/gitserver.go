// Package gitserver serves bare Git repositories over smart HTTP on
// loopback with `git http-backend`, for the quickstart, tests and benchmarks.
package gitserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"time"
)

// Server serves every bare repository under Root at http://Addr/<name>.git.
type Server struct {
	// Root holds the bare repositories.
	Root string
	// URL is the base URL, e.g. http://127.0.0.1:43123.
	URL string

	srv *http.Server
	ln  net.Listener
}

// Start serves root on a free loopback port. Stop it with Close. A
// relative root is taken from the current directory: git http-backend
// runs elsewhere (in git's own directory), so Root is made absolute.
func Start(root string) (*Server, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("gitserver needs the git binary: %w", err)
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, fmt.Errorf("gitserver root: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=ferry"},
	}
	s := &Server{Root: root, URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// RepoURL returns the clone URL of the bare repository root/name.git.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop git server: %w", err)
	}
	return nil
}
