package commitstatus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Gitea sets statuses with POST /repos/{owner}/{repo}/statuses/{sha}
// (Forgejo speaks the same API).
type Gitea struct{ c *apiClient }

// giteaState maps to Gitea's pending, success, error, failure, warning.
func giteaState(s State) string {
	switch s {
	case StateSuccess:
		return "success"
	case StateFailure:
		return "failure"
	case StateCanceled:
		return "warning"
	}
	return "pending"
}

// Report sets s on the commit.
func (g *Gitea) Report(ctx context.Context, s Status) error {
	owner, name, err := s.Repo.OwnerName()
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/repos/%s/%s/statuses/%s", url.PathEscape(owner), url.PathEscape(name), url.PathEscape(s.SHA))
	return g.c.postJSON(ctx, path, http.Header{"Authorization": {"token " + g.c.token.Value()}}, map[string]string{
		"state": giteaState(s.State), "context": s.Context, "description": describe(s), "target_url": s.TargetURL,
	})
}
