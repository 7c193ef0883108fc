// Package commitstatus reports each revision's sync outcome per cluster
// back to the Git host as a commit status (GitHub, GitLab, Gitea): pending
// when the desired state is published, then success or failure when the
// sync result arrives. The platform commit also gets a status of its
// ferry.yaml (context "ferry/ferry.yaml"): success when render loaded the
// registry, failure with the reason when it rejected it. A Reporter has one method; each host lives in its
// own file; New picks one from a repository's configuration.
package commitstatus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/repourl"
)

// State is a provider-neutral commit state; each Reporter maps it to its
// host's vocabulary.
type State string

// States, in the order a revision moves through them.
const (
	StatePending  State = "pending"
	StateRunning  State = "running"
	StateSuccess  State = "success"
	StateFailure  State = "failure"
	StateCanceled State = "canceled"
)

// Final reports whether s ends a revision's story in a cluster.
func (s State) Final() bool { return s == StateSuccess || s == StateFailure || s == StateCanceled }

// Status is one commit status to set.
type Status struct {
	// Repo is the repository, parsed from the event's repo_url.
	Repo repourl.Repo
	// SHA is the full commit id.
	SHA string
	// Context names the status on the commit, e.g. "ferry/prod".
	Context string
	State   State
	// Description is a short sentence (truncated to 140 characters).
	Description string
	// TargetURL is linked from the status; optional.
	TargetURL string
}

// Reporter sets one commit status on one kind of Git host.
type Reporter interface {
	Report(ctx context.Context, s Status) error
}

// DefaultTimeout bounds one request to a Git host.
const DefaultTimeout = 10 * time.Second

// New builds the Reporter for repo, reading its token from the
// environment or a file. client may be nil for one with DefaultTimeout.
func New(repo config.Repo, client *http.Client) (Reporter, error) {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	token, err := config.ReadSecret("commitStatus.repos["+repo.Prefix+"].tokenEnv", "", repo.TokenEnv, repo.TokenFile)
	if err != nil {
		return nil, err
	}
	c := &apiClient{base: strings.TrimSuffix(repo.APIURL, "/"), token: token, http: client}
	switch repo.Provider {
	case config.ProviderGitHub:
		return &GitHub{c}, nil
	case config.ProviderGitLab:
		return &GitLab{c}, nil
	case config.ProviderGitea:
		return &Gitea{c}, nil
	}
	return nil, fmt.Errorf("%w: commitStatus.repos: provider %q", config.ErrInvalid, repo.Provider)
}

// HTTPError is a non-2xx answer from a Git host.
type HTTPError struct {
	Code int
	// Message is the host's error text, shortened.
	Message string
}

// Error says what the host answered.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("git host answered %d: %s", e.Code, e.Message)
}

// Retryable reports whether the same request may succeed later.
func (e *HTTPError) Retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// Retryable reports whether err is worth retrying: network errors and
// retryable HTTP answers are; a refused request (bad token, unknown
// commit, invalid transition) or a repository URL that does not fit the
// host's API is not.
func Retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable()
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

// apiClient posts JSON with a token header.
type apiClient struct {
	base  string
	token config.Secret
	http  *http.Client
}

func (c *apiClient) postJSON(ctx context.Context, path string, header http.Header, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("build status request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-drift")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("post commit status: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &HTTPError{Code: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	return nil
}

// maxDescription is the longest description every host takes (GitHub's
// limit), in characters.
const maxDescription = 140

// describe is s's description cut to maxDescription characters, at a
// character boundary, with "..." where it was cut.
func describe(s Status) string {
	d := []rune(s.Description)
	if len(d) > maxDescription {
		return string(d[:maxDescription-3]) + "..."
	}
	return s.Description
}
