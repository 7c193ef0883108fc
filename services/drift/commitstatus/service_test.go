package commitstatus

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/config"
)

// gitHost plays one Git host's commit status API and records the states
// it accepted per commit and context.
type gitHost struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	states   map[string][]string // "<sha> <context>" → states in order
	descs    map[string][]string // "<sha> <context>" → descriptions in order
	failNext int
}

// hostAPI describes one provider's API shape for the fake.
type hostAPI struct {
	pathPrefix string // e.g. /api/v4/projects/group%2Fapps
	auth       func(*http.Request) bool
	states     []string // states the API accepts
	contextKey string   // JSON field naming the status
}

func newGitHost(t *testing.T, api hostAPI) *gitHost {
	h := &gitHost{t: t, states: map[string][]string{}, descs: map[string][]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.EscapedPath()
		if r.Method != http.MethodPost || !strings.HasPrefix(path, api.pathPrefix+"/statuses/") {
			t.Errorf("unexpected %s %s", r.Method, path)
			http.NotFound(w, r)
			return
		}
		if !api.auth(r) {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		if h.failNext > 0 {
			h.failNext--
			h.mu.Unlock()
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		h.mu.Unlock()
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("status body: %v", err)
		}
		if !slices.Contains(api.states, body["state"]) {
			t.Errorf("state %q is not one of %v", body["state"], api.states)
			http.Error(w, "invalid state", http.StatusBadRequest)
			return
		}
		if body[api.contextKey] == "" || body["description"] == "" {
			t.Errorf("status lacks %s or description: %v", api.contextKey, body)
		}
		sha := strings.TrimPrefix(path, api.pathPrefix+"/statuses/")
		h.mu.Lock()
		k := sha + " " + body[api.contextKey]
		h.states[k] = append(h.states[k], body["state"])
		h.descs[k] = append(h.descs[k], body["description"])
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":1}`))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *gitHost) get(sha, ctx string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.states[sha+" "+ctx])
}

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
)

func TestCommitStatusPerProvider(t *testing.T) {
	gh := newGitHost(t, hostAPI{
		pathPrefix: "/repos/org/apps",
		auth: func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer gh-token" && r.Header.Get("Accept") == "application/vnd.github+json"
		},
		states: []string{"error", "failure", "pending", "success"}, contextKey: "context",
	})
	gh.failNext = 2 // the host is flaky at first: retried with backoff
	gl := newGitHost(t, hostAPI{
		pathPrefix: "/api/v4/projects/group%2Fsub%2Fapps",
		auth:       func(r *http.Request) bool { return r.Header.Get("PRIVATE-TOKEN") == "gl-token" },
		states:     []string{"pending", "running", "success", "failed", "canceled"}, contextKey: "name",
	})
	gt := newGitHost(t, hostAPI{
		pathPrefix: "/api/v1/repos/org/apps",
		auth:       func(r *http.Request) bool { return r.Header.Get("Authorization") == "token gitea-token" },
		states:     []string{"pending", "success", "error", "failure", "warning"}, contextKey: "context",
	})
	t.Setenv("GH_TOKEN", "gh-token")
	t.Setenv("GL_TOKEN", "gl-token")
	t.Setenv("GITEA_TOKEN", "gitea-token")
	cfg := &config.Config{
		CommitStatus: config.CommitStatus{Repos: []config.Repo{
			{Prefix: "https://github.com/org/", Provider: "github", APIURL: gh.srv.URL, TokenEnv: "GH_TOKEN"},
			{Prefix: "https://gitlab.example.com/group/", Provider: "gitlab", APIURL: gl.srv.URL + "/api/v4", TokenEnv: "GL_TOKEN"},
			{Prefix: "git@gitea.example.com:org/", Provider: "gitea", APIURL: gt.srv.URL + "/api/v1", TokenEnv: "GITEA_TOKEN"},
		}},
		Retry: config.Retry{Initial: config.Duration(20 * time.Millisecond), Max: config.Duration(100 * time.Millisecond)},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	js := start(t, cfg)

	for _, c := range []struct {
		name, repo   string
		host         *gitHost
		success, bad string
	}{
		{"github", "https://github.com/org/apps.git", gh, "success", "failure"},
		{"gitlab", "https://gitlab.example.com/group/sub/apps.git", gl, "success", "failed"},
		{"gitea", "git@gitea.example.com:org/apps.git", gt, "success", "failure"},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := "app-" + c.name
			desired(t, js, "prod", app, c.repo, sha1)
			waitFor(t, func() bool { return len(c.host.get(sha1, "ferry/prod")) == 1 })
			result(t, js, &ferryv1.SyncResult{App: app, Cluster: "prod", Revision: sha1, RepoUrl: c.repo,
				Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY})
			desired(t, js, "prod", app, c.repo, sha2)
			waitFor(t, func() bool { return len(c.host.get(sha2, "ferry/prod")) == 1 })
			result(t, js, &ferryv1.SyncResult{App: app, Cluster: "prod", Revision: sha2, RepoUrl: c.repo,
				Phase: ferryv1.Phase_PHASE_FAILED, Message: "apply: admission webhook denied"})
			waitFor(t, func() bool {
				return len(c.host.get(sha1, "ferry/prod")) == 2 && len(c.host.get(sha2, "ferry/prod")) == 2
			})
			if got, want := c.host.get(sha1, "ferry/prod"), []string{"pending", c.success}; !slices.Equal(got, want) {
				t.Errorf("%s: revision 1 states %v, want %v", c.name, got, want)
			}
			if got, want := c.host.get(sha2, "ferry/prod"), []string{"pending", c.bad}; !slices.Equal(got, want) {
				t.Errorf("%s: revision 2 states %v, want %v", c.name, got, want)
			}
		})
	}
}

func TestLatePendingNeverOverwritesFinalState(t *testing.T) {
	gh := newGitHost(t, hostAPI{
		pathPrefix: "/repos/org/apps", auth: func(*http.Request) bool { return true },
		states: []string{"error", "failure", "pending", "success"}, contextKey: "context",
	})
	t.Setenv("GH_TOKEN", "x")
	cfg := &config.Config{CommitStatus: config.CommitStatus{Repos: []config.Repo{
		{Prefix: "https://github.com/org/", Provider: "github", APIURL: gh.srv.URL, TokenEnv: "GH_TOKEN"},
	}}}
	cfg.SetDefaults()
	js := start(t, cfg)
	repo := "https://github.com/org/apps"
	result(t, js, &ferryv1.SyncResult{App: "a", Cluster: "dev", Revision: sha1, RepoUrl: repo,
		Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY})
	waitFor(t, func() bool { return len(gh.get(sha1, "ferry/dev")) == 1 })
	desired(t, js, "dev", "a", repo, sha1)
	desired(t, js, "dev", "b", "https://elsewhere.example.com/x/y", sha2) // not configured: ignored
	waitSettled(t, js, subject.StreamDesired)
	if got := gh.get(sha1, "ferry/dev"); !slices.Equal(got, []string{"success"}) {
		t.Errorf("states %v, want [success]", got)
	}
}

func start(t *testing.T, cfg *config.Config) jetstream.JetStream {
	t.Helper()
	srv := natsserver.StartForTest(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := logging.Into(context.Background(), logging.Discard())
	if err := stream.Ensure(ctx, js, stream.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, js, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return js
}

func desired(t *testing.T, js jetstream.JetStream, cluster, app, repo, sha string) {
	t.Helper()
	ds := &ferryv1.DesiredState{App: app, Cluster: cluster, Revision: sha, RepoUrl: repo,
		Manifests: []byte(strings.Repeat("kind: ConfigMap\n", 1000)), Sync: &ferryv1.SyncPolicy{Automated: true}}
	if _, err := events.Publish(context.Background(), js, subject.Desired(cluster, app), ds, ""); err != nil {
		t.Fatal(err)
	}
}

func result(t *testing.T, js jetstream.JetStream, res *ferryv1.SyncResult) {
	t.Helper()
	if _, err := events.Publish(context.Background(), js, subject.Status(res.Cluster, res.App), res, ""); err != nil {
		t.Fatal(err)
	}
}

func waitSettled(t *testing.T, js jetstream.JetStream, streamName string) {
	t.Helper()
	waitConsumerSettled(t, js, streamName, Durable)
}

// waitConsumerSettled waits until durable on streamName has settled
// every message stored.
func waitConsumerSettled(t *testing.T, js jetstream.JetStream, streamName, durable string) {
	t.Helper()
	waitFor(t, func() bool {
		c, err := js.Consumer(context.Background(), streamName, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
