package commitstatus

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/config"
)

func registryStatus(t *testing.T, js jetstream.JetStream, st *ferryv1.RegistryStatus) {
	t.Helper()
	if _, err := events.Publish(context.Background(), js, subject.Registry(subject.RepoKey(st.GetRepoUrl())), st, ""); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryStatusOnThePlatformCommit: render's reading of the platform
// ferry.yaml sets the ferry/ferry.yaml status on its commit, success when
// loaded and failure with the reason (cut to the host's limit) when
// rejected, through a flaky host; an ignored ferry.yaml sets none.
func TestRegistryStatusOnThePlatformCommit(t *testing.T) {
	gh := newGitHost(t, hostAPI{
		pathPrefix: "/repos/org/platform", auth: func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer gh-token" },
		states: []string{"error", "failure", "pending", "success"}, contextKey: "context",
	})
	gh.failNext = 1
	t.Setenv("GH_TOKEN", "gh-token")
	cfg := &config.Config{
		CommitStatus: config.CommitStatus{Repos: []config.Repo{
			{Prefix: "https://github.com/org/", Provider: "github", APIURL: gh.srv.URL, TokenEnv: "GH_TOKEN"},
		}},
		Retry: config.Retry{Initial: config.Duration(20 * time.Millisecond), Max: config.Duration(100 * time.Millisecond)},
	}
	cfg.SetDefaults()
	js := start(t, cfg)
	const platform, ctxName = "https://github.com/org/platform.git", "ferry/ferry.yaml"

	registryStatus(t, js, &ferryv1.RegistryStatus{RepoUrl: platform, Revision: sha1,
		Outcome: ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED, Apps: []string{"web", "api"}})
	waitFor(t, func() bool { return len(gh.get(sha1, ctxName)) == 1 })

	reason := "ferry.yaml: app \"web\" is declared twice\n(apps[3]) — " + strings.Repeat("é", 200)
	registryStatus(t, js, &ferryv1.RegistryStatus{RepoUrl: platform, Revision: sha2, File: "ferry.yaml",
		Outcome: ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED, Reason: reason})
	waitFor(t, func() bool { return len(gh.get(sha2, ctxName)) == 1 })

	// Another repository's ferry.yaml is ignored: no status, even on a
	// repository configured for statuses.
	registryStatus(t, js, &ferryv1.RegistryStatus{RepoUrl: "https://github.com/org/apps.git", Revision: sha1,
		Outcome: ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED, Reason: "not the platform repository"})
	waitConsumerSettled(t, js, subject.StreamRegistry, subject.CommitStatusRegistryConsumer)

	if got := gh.get(sha1, ctxName); !slices.Equal(got, []string{"success"}) {
		t.Errorf("accepted commit: %v, want [success]", got)
	}
	if got := gh.get(sha2, ctxName); !slices.Equal(got, []string{"failure"}) {
		t.Errorf("rejected commit: %v, want [failure]", got)
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if d := gh.descs[sha1+" "+ctxName]; len(d) != 1 || d[0] != "registry loaded: 2 apps" {
		t.Errorf("accepted description %q", d)
	}
	d := gh.descs[sha2+" "+ctxName]
	if len(d) != 1 || !strings.HasPrefix(d[0], `rejected, the previous registry stays in force: ferry.yaml: app "web" is declared twice (apps[3]) — éé`) ||
		!strings.HasSuffix(d[0], "é...") || utf8.RuneCountInString(d[0]) != maxDescription || !utf8.ValidString(d[0]) {
		t.Errorf("rejected description %q (%d characters)", d, utf8.RuneCountInString(strings.Join(d, "")))
	}
	for k := range gh.states {
		if strings.HasPrefix(k, sha1+" ") && k != sha1+" "+ctxName {
			t.Errorf("status %q set, want only %s", k, ctxName)
		}
	}
}
