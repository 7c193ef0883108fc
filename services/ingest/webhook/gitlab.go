package webhook

import (
	"fmt"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// gitlabPush is the part of a GitLab push or tag push payload Ferry reads.
type gitlabPush struct {
	ObjectKind   string `json:"object_kind"`
	Ref          string `json:"ref"`
	Before       string `json:"before"`
	After        string `json:"after"`
	UserName     string `json:"user_name"`
	UserUsername string `json:"user_username"`
	Project      struct {
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
		GitHTTPURL        string `json:"git_http_url"`
	} `json:"project"`
	Repository struct {
		Homepage   string `json:"homepage"`
		GitHTTPURL string `json:"git_http_url"`
	} `json:"repository"`
	Commits []struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
		URL       string `json:"url"`
		Author    struct {
			Name string `json:"name"`
		} `json:"author"`
	} `json:"commits"`
}

// parseGitLab reads a GitLab push or tag push payload, from a project or a
// system hook. Other system hook kinds are ErrNotPush.
func parseGitLab(body []byte) ([]*ferryv1.PushEvent, error) {
	var p gitlabPush
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	switch p.ObjectKind {
	case "push", "tag_push", "":
	default:
		return nil, fmt.Errorf("%w: gitlab object_kind %q", ErrNotPush, clip(p.ObjectKind))
	}
	ev := &ferryv1.PushEvent{
		CloneUrl: firstNonEmpty(p.Project.GitHTTPURL, p.Repository.GitHTTPURL),
		RepoName: p.Project.PathWithNamespace,
		HtmlUrl:  firstNonEmpty(p.Project.WebURL, p.Repository.Homepage),
		Ref:      p.Ref,
		Before:   p.Before,
		After:    p.After,
		Pusher:   firstNonEmpty(p.UserUsername, p.UserName),
		Commits:  make([]*ferryv1.Commit, 0, len(p.Commits)),
	}
	for _, c := range p.Commits {
		ev.Commits = append(ev.Commits, &ferryv1.Commit{
			Id: c.ID, Message: c.Message, Url: c.URL, Author: c.Author.Name,
			TimestampUnix: unixTime(c.Timestamp),
		})
	}
	if err := validate(ev); err != nil {
		return nil, err
	}
	return []*ferryv1.PushEvent{ev}, nil
}
