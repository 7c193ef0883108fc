package commitstatus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// GitHub sets statuses with POST /repos/{owner}/{repo}/statuses/{sha}.
type GitHub struct{ c *apiClient }

// githubState maps to GitHub's error, failure, pending, success.
func githubState(s State) string {
	switch s {
	case StateSuccess:
		return "success"
	case StateFailure:
		return "failure"
	case StateCanceled:
		return "error"
	}
	return "pending"
}

// Report sets s on the commit.
func (g *GitHub) Report(ctx context.Context, s Status) error {
	owner, name, err := s.Repo.OwnerName()
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/repos/%s/%s/statuses/%s", url.PathEscape(owner), url.PathEscape(name), url.PathEscape(s.SHA))
	h := http.Header{
		"Accept":               {"application/vnd.github+json"},
		"Authorization":        {"Bearer " + g.c.token.Value()},
		"X-Github-Api-Version": {"2022-11-28"},
	}
	return g.c.postJSON(ctx, path, h, map[string]string{
		"state": githubState(s.State), "context": s.Context, "description": describe(s), "target_url": s.TargetURL,
	})
}
