package web

import (
	"net/http"
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const platformRepo = "https://git.example.com/org/platform.git"

func (e *env) registry(repo, rev string, outcome ferryv1.RegistryOutcome, reason string) {
	e.t.Helper()
	st := &ferryv1.RegistryStatus{RepoUrl: repo, Ref: "refs/heads/main", Revision: rev, Outcome: outcome, Reason: reason}
	if outcome == ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED {
		st.File = "ferry.yaml"
	}
	e.publish(subject.Registry(subject.RepoKey(repo)), st)
}

// TestRegistryRejectionBanner: while the platform repository's latest
// ferry.yaml is rejected, the grid and app pages (their live fragments
// too) say so and which registry stays in force; every page's event
// stream hears of registry changes; an accepted ferry.yaml clears it.
func TestRegistryRejectionBanner(t *testing.T) {
	e := start(t, DefaultOptions())
	e.deploy("prod", "web", rev1, "Add web")
	e.registry(platformRepo, rev1, ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED, "")
	e.registry("https://git.example.com/team/apps.git", rev2, ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED, "not the platform repository")
	c := e.client()
	for _, path := range []string{"/", "/apps/web"} {
		if code, body := e.get(c, path); code != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", path, code, body)
		} else {
			mustLack(t, path+" while accepted", body, "registry-rejected", "rejected</b>")
		}
	}

	web := e.openEvents("/events?app=web")
	waitSubscribers(t, e, 1)
	e.registry(platformRepo, rev2, ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED, `path "../secrets" leaves the repository <script>`)
	if got := web.nextChange(); got != (change{Kind: "registry", Revision: rev2}) {
		t.Errorf("app page's stream got %+v, want the registry change", got)
	}
	for _, path := range []string{"/", "/apps/web"} {
		for _, fragment := range []string{"", "1"} {
			code, body := e.get(c, path, fragmentHeader, fragment)
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d\n%s", path, code, body)
			}
			mustContain(t, path+" while rejected", body, `class="result bad registry-rejected"`, "ferry.yaml rejected</b>",
				"<code>git.example.com/org/platform</code>", `<code class="rev" title="`+rev2+`">2222222</code>`,
				`path &#34;../secrets&#34; leaves the repository &lt;script&gt;`, `The registry from <code class="rev">1111111</code> stays in force`)
			mustLack(t, path+" while rejected", body, "<script>", "team/apps")
		}
	}
	_, body := e.get(c, "/clusters/prod")
	mustLack(t, "cluster page", body, "registry-rejected")

	e.registry(platformRepo, rev2[:39]+"3", ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED, "")
	web.nextChange()
	for _, path := range []string{"/", "/apps/web"} {
		_, body := e.get(c, path)
		mustLack(t, path+" after a fixed ferry.yaml", body, "registry-rejected")
	}
}
