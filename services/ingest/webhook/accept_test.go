package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
)

// want is the part of a stored PushEvent a case checks.
type want struct {
	id, provider, cloneURL, repoName, htmlURL, ref, before, after, pusher string
	commits                                                               int
	firstCommitID, firstAuthor                                            string
	firstCommitTime                                                       int64
}

func TestAcceptPerProvider(t *testing.T) {
	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	client := &http.Client{Timeout: 10 * time.Second}

	type tcase struct {
		name, path, fixture string
		headers             func(body []byte) http.Header
		want                []want
	}
	cases := []tcase{
		{
			name: "github branch push", path: "/webhooks/github", fixture: "github-push.json",
			headers: func(b []byte) http.Header { return githubHeaders("push", "gh-1", b) },
			want: []want{{id: "gh-1", provider: "github", cloneURL: "https://github.com/binkkatal/sample_app.git",
				repoName: "binkkatal/sample_app", htmlURL: "https://github.com/binkkatal/sample_app", ref: "refs/heads/master",
				before: "737d38c599c1b2991664dfc6155d6bf516fcce36", after: "fd489864e7642b48eaad6e3f155c10e46810ec72",
				pusher: "binkkatal", commits: 1, firstCommitID: "fd489864e7642b48eaad6e3f155c10e46810ec72", firstAuthor: "binkkatal",
				firstCommitTime: time.Date(2018, 6, 29, 14, 4, 13, 0, time.UTC).Unix()}},
		},
		{
			name: "github tag push, before zeros, no commits", path: "/webhooks/github", fixture: "github-tag.json",
			headers: func(b []byte) http.Header { return githubHeaders("push", "gh-tag", b) },
			want: []want{{id: "gh-tag", provider: "github", cloneURL: "https://github.com/binkkatal/sample_app.git",
				repoName: "binkkatal/sample_app", htmlURL: "https://github.com/binkkatal/sample_app", ref: "refs/tags/v1.2.0",
				before: zeroSHA1, after: "fd489864e7642b48eaad6e3f155c10e46810ec72", pusher: "binkkatal"}},
		},
		{
			name: "github branch deletion, after zeros", path: "/webhooks", fixture: "github-delete.json",
			headers: func(b []byte) http.Header { return githubHeaders("push", "gh-del", b) },
			want: []want{{id: "gh-del", provider: "github", cloneURL: "https://github.com/binkkatal/sample_app.git",
				repoName: "binkkatal/sample_app", htmlURL: "https://github.com/binkkatal/sample_app", ref: "refs/heads/feature-x",
				before: "fd489864e7642b48eaad6e3f155c10e46810ec72", after: zeroSHA1, pusher: "binkkatal"}},
		},
		{
			name: "gitlab push", path: "/webhooks/gitlab", fixture: "gitlab-push.json",
			headers: func([]byte) http.Header { return gitlabHeaders("Push Hook", "gl-1") },
			want: []want{{id: "gl-1", provider: "gitlab", cloneURL: "http://example.com/mike/diaspora.git",
				repoName: "mike/diaspora", htmlURL: "http://example.com/mike/diaspora", ref: "refs/heads/master",
				before: "95790bf891e76fee5e1747ab589903a6a1f80f22", after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				pusher: "jsmith", commits: 2, firstCommitID: "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", firstAuthor: "Jordi Mallach",
				firstCommitTime: time.Date(2011, 12, 12, 12, 27, 31, 0, time.UTC).Unix()}},
		},
		{
			name: "gitlab tag push via auto-detect", path: "/webhooks", fixture: "gitlab-tag.json",
			headers: func([]byte) http.Header { return gitlabHeaders("Tag Push Hook", "gl-tag") },
			want: []want{{id: "gl-tag", provider: "gitlab", cloneURL: "http://example.com/jsmith/example.git",
				repoName: "jsmith/example", htmlURL: "http://example.com/jsmith/example", ref: "refs/tags/v1.0.0",
				before: zeroSHA1, after: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", pusher: "John Smith"}},
		},
		{
			name: "gitea push (new branch)", path: "/webhooks/gitea", fixture: "gitea-push.json",
			headers: func(b []byte) http.Header { return giteaHeaders("push", "gt-1", b) },
			want: []want{{id: "gt-1", provider: "gitea", cloneURL: "http://localhost:3000/example/example.git",
				repoName: "example/example", htmlURL: "http://localhost:3000/example/example", ref: "refs/heads/master",
				before: zeroSHA1, after: "67b56589a45103f891bdee7c0546e5d40bc02001", pusher: "example", commits: 1,
				firstCommitID: "67b56589a45103f891bdee7c0546e5d40bc02001", firstAuthor: "example",
				firstCommitTime: time.Date(2022, 3, 9, 7, 23, 39, 0, time.UTC).Unix()}},
		},
		{
			// Gitea also sends X-GitHub-Event; auto-detect must still say gitea.
			name: "gitea push with total_commits > len(commits) via auto-detect", path: "/webhooks", fixture: "gitea-truncated.json",
			headers: func(b []byte) http.Header { return giteaHeaders("push", "gt-2", b) },
			want: []want{{id: "gt-2", provider: "gitea", cloneURL: "https://gitea.example.com/platform/apps.git",
				repoName: "platform/apps", htmlURL: "https://gitea.example.com/platform/apps", ref: "refs/heads/main",
				before: "67b56589a45103f891bdee7c0546e5d40bc02001", after: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
				pusher: "example", commits: 2, firstCommitID: "9f3c2e1d0b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e", firstAuthor: "example",
				firstCommitTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).Unix()}},
		},
		{
			name: "bitbucket push: branch update, tag created, branch deleted", path: "/webhooks/bitbucket", fixture: "bitbucket-push.json",
			headers: func(b []byte) http.Header { return bitbucketHeaders("repo:push", "bb-1", b) },
			want: []want{
				{id: "bb-1", provider: "bitbucket", cloneURL: "https://bitbucket.org/ferry-team/apps.git", repoName: "ferry-team/apps",
					htmlURL: "https://bitbucket.org/ferry-team/apps", ref: "refs/heads/main",
					before: "1e65c05c1d5171631d92438a13901ca7dae9618c", after: "03f4a7270240708834de475bcf21532d6134777e",
					pusher: "emmap1", commits: 2, firstCommitID: "03f4a7270240708834de475bcf21532d6134777e", firstAuthor: "Emma Paris",
					firstCommitTime: time.Date(2024, 5, 2, 9, 30, 0, 0, time.UTC).Unix()},
				{id: "bb-1#1", provider: "bitbucket", cloneURL: "https://bitbucket.org/ferry-team/apps.git", repoName: "ferry-team/apps",
					htmlURL: "https://bitbucket.org/ferry-team/apps", ref: "refs/tags/v2.0.0",
					before: zeroSHA1, after: "03f4a7270240708834de475bcf21532d6134777e", pusher: "emmap1", commits: 1,
					firstCommitID: "03f4a7270240708834de475bcf21532d6134777e", firstAuthor: "Emma Paris",
					firstCommitTime: time.Date(2024, 5, 2, 9, 30, 0, 0, time.UTC).Unix()},
				{id: "bb-1#2", provider: "bitbucket", cloneURL: "https://bitbucket.org/ferry-team/apps.git", repoName: "ferry-team/apps",
					htmlURL: "https://bitbucket.org/ferry-team/apps", ref: "refs/heads/feature-x",
					before: "c4b2b7914156a878aa7c9da452a09fb50c2091f2", after: zeroSHA1, pusher: "emmap1"},
			},
		},
		{
			name: "bitbucket sample from go-playground/webhooks via auto-detect", path: "/webhooks", fixture: "bitbucket-push-sample.json",
			headers: func(b []byte) http.Header { return bitbucketHeaders("repo:push", "bb-2", b) },
			want: []want{{id: "bb-2", provider: "bitbucket", cloneURL: "https://api.bitbucket.org/bitbucket/bitbucket.git",
				repoName: "team_name/repo_name", htmlURL: "https://api.bitbucket.org/bitbucket/bitbucket", ref: "refs/heads/name-of-branch",
				before: "1e65c05c1d5171631d92438a13901ca7dae9618c", after: "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
				pusher: "emmap1", commits: 1, firstCommitID: "03f4a7270240708834de475bcf21532d6134777e", firstAuthor: "Emma"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := fixture(t, tc.fixture)
			seq := lastSeq(t, js)
			before := time.Now().UnixNano()
			status, resp := post(t, client, base+tc.path, tc.headers(body), bytes.NewReader(body))
			if status != http.StatusAccepted {
				t.Fatalf("status %d (%v), want 202", status, resp)
			}
			evs, raws := storedAfter(t, js, seq)
			if len(evs) != len(tc.want) {
				t.Fatalf("stored %d events, want %d", len(evs), len(tc.want))
			}
			for i, w := range tc.want {
				ev := evs[i]
				got := want{id: ev.GetId(), provider: ev.GetProvider(), cloneURL: ev.GetCloneUrl(), repoName: ev.GetRepoName(),
					htmlURL: ev.GetHtmlUrl(), ref: ev.GetRef(), before: ev.GetBefore(), after: ev.GetAfter(), pusher: ev.GetPusher(),
					commits: len(ev.GetCommits())}
				if c := ev.GetCommits(); len(c) > 0 {
					got.firstCommitID, got.firstAuthor, got.firstCommitTime = c[0].GetId(), c[0].GetAuthor(), c[0].GetTimestampUnix()
				}
				if w.firstCommitTime == 0 {
					got.firstCommitTime = 0 // not asserted
				}
				if got != w {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
				}
				if ev.GetRepoKey() != subject.RepoKey(w.cloneURL) {
					t.Errorf("event %d: repo key %q, want %q", i, ev.GetRepoKey(), subject.RepoKey(w.cloneURL))
				}
				if raws[i].Subject != subject.GitPush(ev.GetRepoKey()) {
					t.Errorf("event %d: subject %q, want %q", i, raws[i].Subject, subject.GitPush(ev.GetRepoKey()))
				}
				if got, want := raws[i].Header.Get("Nats-Msg-Id"), wantMsgID(w.cloneURL, w.ref, w.before, w.after); got != want {
					t.Errorf("event %d: Nats-Msg-Id %q, want %q", i, got, want)
				}
				if r := ev.GetReceivedUnixNano(); r < before || r > time.Now().UnixNano() {
					t.Errorf("event %d: received_unix_nano %d outside the request", i, r)
				}
			}
		})
	}
}

// wantMsgID spells out the message id of a push: the repository key and
// a hash of the ref transition, nothing of the delivery.
func wantMsgID(cloneURL, ref, before, after string) string {
	sum := sha256.Sum256([]byte(ref + "\x00" + before + "\x00" + after))
	return "push:" + subject.RepoKey(cloneURL) + ":" + hex.EncodeToString(sum[:])[:32]
}

func TestGitHubFormEncodedPayload(t *testing.T) {
	_, _, js := startNATS(t)
	base, _ := serve(t, js, testOptions())
	body := []byte("payload=" + urlEncode(fixture(t, "github-push.json")))
	h := githubHeaders("push", "gh-form", body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	seq := lastSeq(t, js)
	if status, resp := post(t, http.DefaultClient, base+"/webhooks/github", h, bytes.NewReader(body)); status != http.StatusAccepted {
		t.Fatalf("status %d (%v), want 202", status, resp)
	}
	evs, _ := storedAfter(t, js, seq)
	if len(evs) != 1 || evs[0].GetAfter() != "fd489864e7642b48eaad6e3f155c10e46810ec72" {
		t.Fatalf("stored %v", evs)
	}
}
