package commitstatus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// GitLab sets statuses with POST /projects/:id/statuses/:sha, the project
// id being the URL-encoded path (group%2Fsub%2Fapps).
type GitLab struct{ c *apiClient }

// gitlabState maps to GitLab's pending, running, success, failed, canceled.
func gitlabState(s State) string {
	switch s {
	case StateRunning:
		return "running"
	case StateSuccess:
		return "success"
	case StateFailure:
		return "failed"
	case StateCanceled:
		return "canceled"
	}
	return "pending"
}

// Report sets s on the commit.
func (g *GitLab) Report(ctx context.Context, s Status) error {
	path := fmt.Sprintf("/projects/%s/statuses/%s", url.PathEscape(s.Repo.Path), url.PathEscape(s.SHA))
	body := map[string]string{"state": gitlabState(s.State), "name": s.Context, "description": describe(s)}
	if s.TargetURL != "" {
		body["target_url"] = s.TargetURL
	}
	return g.c.postJSON(ctx, path, http.Header{"Private-Token": {g.c.token.Value()}}, body)
}
