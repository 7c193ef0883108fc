package webhook

import (
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// hubPush is the part of a GitHub or Gitea push payload Ferry reads. Its
// own small shape, not the webhooks library's: Gitea's repository.created_at
// is a string where GitHub's is a number, and neither is needed here.
type hubPush struct {
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Repository struct {
		FullName string `json:"full_name"`
		HTMLURL  string `json:"html_url"`
		CloneURL string `json:"clone_url"`
	} `json:"repository"`
	Pusher struct {
		Name     string `json:"name"`
		Login    string `json:"login"`
		Username string `json:"username"`
	} `json:"pusher"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
	Commits []hubCommit `json:"commits"`
}

type hubCommit struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	URL       string `json:"url"`
	Author    struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"author"`
}

// parseGitHub reads a GitHub push payload (branch, tag or deletion).
func parseGitHub(body []byte) ([]*ferryv1.PushEvent, error) {
	var p hubPush
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	return p.event(firstNonEmpty(p.Pusher.Name, p.Sender.Login))
}

// parseGitea reads a Gitea or Gogs push payload. Gitea may list fewer
// commits than total_commits; the list is passed on as the host sent it.
func parseGitea(body []byte) ([]*ferryv1.PushEvent, error) {
	var p hubPush
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	return p.event(firstNonEmpty(p.Pusher.Login, p.Pusher.Username, p.Pusher.Name, p.Sender.Login))
}

func (p *hubPush) event(pusher string) ([]*ferryv1.PushEvent, error) {
	ev := &ferryv1.PushEvent{
		CloneUrl: p.Repository.CloneURL,
		RepoName: p.Repository.FullName,
		HtmlUrl:  p.Repository.HTMLURL,
		Ref:      p.Ref,
		Before:   p.Before,
		After:    p.After,
		Pusher:   pusher,
		Commits:  make([]*ferryv1.Commit, 0, len(p.Commits)),
	}
	for _, c := range p.Commits {
		ev.Commits = append(ev.Commits, &ferryv1.Commit{
			Id: c.ID, Message: c.Message, Url: c.URL,
			Author:        firstNonEmpty(c.Author.Name, c.Author.Username),
			TimestampUnix: unixTime(c.Timestamp),
		})
	}
	if err := validate(ev); err != nil {
		return nil, err
	}
	return []*ferryv1.PushEvent{ev}, nil
}
