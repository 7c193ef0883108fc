package pushhook

import (
	"strings"
	"time"
)

type jsonObj = map[string]any

func repoName(p Push) string {
	parts := strings.Split(p.FullName, "/")
	return parts[len(parts)-1]
}

func htmlURL(p Push) string { return strings.TrimSuffix(p.CloneURL, ".git") }

func commitList(p Push, ts string) []jsonObj {
	if p.After == ZeroSHA || p.After == "" {
		return []jsonObj{}
	}
	return []jsonObj{{
		"id": p.After, "message": orDefault(p.Message, "update"), "timestamp": ts,
		"url":       htmlURL(p) + "/commit/" + p.After,
		"author":    jsonObj{"name": p.Pusher, "email": p.Pusher + "@example.com", "username": p.Pusher},
		"committer": jsonObj{"name": p.Pusher, "email": p.Pusher + "@example.com", "username": p.Pusher},
		"added":     []string{}, "removed": []string{}, "modified": []string{},
	}}
}

// githubBody follows GitHub's documented push event payload.
func githubBody(p Push) jsonObj {
	t := now()
	commits := commitList(p, t.Format(time.RFC3339))
	var head any
	if len(commits) > 0 {
		head = commits[0]
	}
	owner := strings.Split(p.FullName, "/")[0]
	return jsonObj{
		"ref": p.Ref, "before": p.Before, "after": p.After,
		"created": p.Before == ZeroSHA, "deleted": p.After == ZeroSHA, "forced": false,
		"base_ref": nil, "compare": htmlURL(p) + "/compare/" + p.Before + "..." + p.After,
		"commits": commits, "head_commit": head,
		"repository": jsonObj{
			"id": 1, "name": repoName(p), "full_name": p.FullName, "private": false,
			"owner":    jsonObj{"name": owner, "login": owner},
			"html_url": htmlURL(p), "url": htmlURL(p), "clone_url": p.CloneURL,
			"git_url": p.CloneURL, "ssh_url": p.CloneURL, "default_branch": "main",
			"created_at": t.Unix(), "pushed_at": t.Unix(), "updated_at": t.Format(time.RFC3339),
		},
		"pusher": jsonObj{"name": p.Pusher, "email": p.Pusher + "@example.com"},
		"sender": jsonObj{"login": p.Pusher, "id": 1},
	}
}

// giteaBody follows Gitea's push payload: string timestamps on the
// repository and total_commits next to a possibly shorter commits list.
func giteaBody(p Push) jsonObj {
	t := now()
	commits := commitList(p, t.Format(time.RFC3339))
	var head any
	if len(commits) > 0 {
		head = commits[0]
	}
	user := jsonObj{"id": 1, "login": p.Pusher, "username": p.Pusher, "email": p.Pusher + "@example.com"}
	return jsonObj{
		"ref": p.Ref, "before": p.Before, "after": p.After,
		"compare_url": htmlURL(p) + "/compare/" + p.Before + "..." + p.After,
		"commits":     commits, "total_commits": len(commits), "head_commit": head,
		"repository": jsonObj{
			"id": 1, "owner": user, "name": repoName(p), "full_name": p.FullName,
			"private": false, "html_url": htmlURL(p), "clone_url": p.CloneURL,
			"ssh_url": p.CloneURL, "default_branch": "main",
			"created_at": t.Format(time.RFC3339), "updated_at": t.Format(time.RFC3339),
		},
		"pusher": user, "sender": user,
	}
}

// gitlabBody follows GitLab's documented Push Hook payload.
func gitlabBody(p Push) jsonObj {
	t := now()
	commits := commitList(p, t.Format(time.RFC3339))
	project := jsonObj{
		"id": 1, "name": repoName(p), "web_url": htmlURL(p),
		"git_http_url": p.CloneURL, "git_ssh_url": p.CloneURL, "http_url": p.CloneURL,
		"namespace": strings.Split(p.FullName, "/")[0], "path_with_namespace": p.FullName,
		"default_branch": "main", "homepage": htmlURL(p), "url": p.CloneURL, "visibility_level": 0,
	}
	return jsonObj{
		"object_kind": "push", "event_name": "push",
		"before": p.Before, "after": p.After, "ref": p.Ref, "checkout_sha": p.After,
		"user_id": 1, "user_name": p.Pusher, "user_username": p.Pusher, "user_email": p.Pusher + "@example.com",
		"project_id": 1, "project": project,
		"commits": commits, "total_commits_count": len(commits),
		"repository": jsonObj{
			"name": repoName(p), "url": p.CloneURL, "homepage": htmlURL(p),
			"git_http_url": p.CloneURL, "git_ssh_url": p.CloneURL, "visibility_level": 0,
		},
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
