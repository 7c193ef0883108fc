package webhook

import (
	"fmt"
	"strings"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// bitbucketPush is the part of a Bitbucket Cloud repo:push payload Ferry
// reads. One webhook may carry several changes (refs); each becomes its
// own PushEvent.
type bitbucketPush struct {
	Actor struct {
		Nickname    string `json:"nickname"`
		DisplayName string `json:"display_name"`
	} `json:"actor"`
	Repository struct {
		FullName string `json:"full_name"`
		Links    struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"repository"`
	Push struct {
		Changes []struct {
			New     *bitbucketRef     `json:"new"`
			Old     *bitbucketRef     `json:"old"`
			Commits []bitbucketCommit `json:"commits"`
		} `json:"changes"`
	} `json:"push"`
}

type bitbucketRef struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Target struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

type bitbucketCommit struct {
	Hash    string `json:"hash"`
	Message string `json:"message"`
	Date    string `json:"date"`
	Author  struct {
		Raw         string `json:"raw"`
		DisplayName string `json:"display_name"`
		User        struct {
			DisplayName string `json:"display_name"`
		} `json:"user"`
	} `json:"author"`
	Links struct {
		HTML struct {
			Href string `json:"href"`
		} `json:"html"`
	} `json:"links"`
}

// parseBitbucket reads a Bitbucket Cloud repo:push payload. Bitbucket names
// refs without a prefix, so the ref is built from the change's type; a
// created ref has before = zeros, a deleted one after = zeros.
func parseBitbucket(body []byte) ([]*ferryv1.PushEvent, error) {
	var p bitbucketPush
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	if len(p.Push.Changes) == 0 {
		return nil, fmt.Errorf("%w: bitbucket push without changes", ErrMalformed)
	}
	html := strings.TrimSuffix(p.Repository.Links.HTML.Href, "/")
	if html == "" && p.Repository.FullName != "" {
		html = "https://bitbucket.org/" + p.Repository.FullName
	}
	clone := ""
	if html != "" {
		clone = html + ".git"
	}
	evs := make([]*ferryv1.PushEvent, 0, len(p.Push.Changes))
	for _, ch := range p.Push.Changes {
		ev := &ferryv1.PushEvent{
			CloneUrl: clone, RepoName: p.Repository.FullName, HtmlUrl: html,
			Before: zeroSHA1, After: zeroSHA1,
			Pusher:  firstNonEmpty(p.Actor.Nickname, p.Actor.DisplayName),
			Commits: make([]*ferryv1.Commit, 0, len(ch.Commits)),
		}
		ref := ch.New
		if ref != nil {
			ev.After = ref.Target.Hash
		}
		if ch.Old != nil {
			ev.Before = ch.Old.Target.Hash
			if ref == nil {
				ref = ch.Old
			}
		}
		if ref == nil {
			return nil, fmt.Errorf("%w: bitbucket change with neither new nor old", ErrMalformed)
		}
		ev.Ref = bitbucketRefName(ref)
		for _, c := range ch.Commits {
			ev.Commits = append(ev.Commits, &ferryv1.Commit{
				Id: c.Hash, Message: c.Message, Url: c.Links.HTML.Href,
				Author:        firstNonEmpty(c.Author.User.DisplayName, c.Author.DisplayName, c.Author.Raw),
				TimestampUnix: unixTime(c.Date),
			})
		}
		if err := validate(ev); err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// bitbucketRefName turns a Bitbucket ref into a full Git ref name.
func bitbucketRefName(r *bitbucketRef) string {
	switch {
	case r.Name == "":
		return ""
	case r.Type == "tag" || r.Type == "annotated_tag":
		return "refs/tags/" + r.Name
	default:
		return "refs/heads/" + r.Name
	}
}
