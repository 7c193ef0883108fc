package renderer

import (
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// Output is cached by its inputs: reverting to content rendered before is
// a cache hit (no tool runs) with the digest it had then. A change that
// leaves the output identical (a comment) renders to the same digest and
// publishes nothing, so no apply is triggered.
func TestCacheHitAndIdenticalDigest(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.repo("cached")
	base := "resources: [cm.yaml]\n"
	_, a := e.push(r, map[string]string{
		"ferry.yaml":             platformYAML("  - {name: app, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: c1}]}\n"),
		"app/kustomization.yaml": base,
		"app/cm.yaml":            configMap("v1"),
	})
	first := e.waitDesired("c1", "app", a)

	_, b := e.push(r, map[string]string{"app/cm.yaml": configMap("v2")})
	e.waitDesired("c1", "app", b)
	e.waitSettled()

	c0 := e.counters()
	_, back := e.push(r, map[string]string{"app/cm.yaml": configMap("v1")})
	reverted := e.waitDesired("c1", "app", back)
	e.waitSettled()
	if c := e.counters(); c.CacheHits-c0.CacheHits != 1 || c.Renders != c0.Renders {
		t.Errorf("revert: %d cache hits, %d renders; want 1 hit and no render", c.CacheHits-c0.CacheHits, c.Renders-c0.Renders)
	}
	if reverted.GetDigest() != first.GetDigest() || string(reverted.GetManifests()) != string(first.GetManifests()) {
		t.Errorf("revert digest %s, want the first render's %s", reverted.GetDigest(), first.GetDigest())
	}

	c1 := e.counters()
	_, comment := e.push(r, map[string]string{"app/kustomization.yaml": "# a comment changes the input, not the output\n" + base})
	e.waitSettled()
	if c := e.counters(); c.Renders-c1.Renders != 1 || c.Unchanged-c1.Unchanged != 1 {
		t.Errorf("comment: %d renders, %d unchanged; want 1 and 1", c.Renders-c1.Renders, c.Unchanged-c1.Unchanged)
	}
	var last ferryv1.DesiredState
	e.last(subject.StreamDesired, subject.Desired("c1", "app"), &last)
	if last.GetRevision() != back || e.count(subject.StreamDesired, subject.Desired("c1", "app")) != 3 {
		t.Errorf("identical output at %s was published (last revision %s)", comment, last.GetRevision())
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", e.logs.String())
	}
}
