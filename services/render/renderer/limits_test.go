package renderer

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/source"
)

// configMapOf is a ConfigMap whose data value is size bytes long.
func configMapOf(name string, size int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  v: %q\n", name, strings.Repeat("x", size))
}

// A commit over any limit is a RenderFailed status that names the limit,
// the value found and the flag that raises it; no desired state is
// published, so the worker never sees it and the cluster keeps the last
// good revision.
func TestRenderLimits(t *testing.T) {
	cases := []struct {
		name   string
		limits source.Limits
		broken map[string]string
		file   string
		msg    []string
	}{{
		name:   "rendered bytes, plain files: stops reading before parsing",
		limits: source.Limits{MaxRenderedBytes: 3000},
		broken: map[string]string{"app/a.yaml": configMapOf("a", 1500), "app/b.yaml": configMapOf("b", 1500)},
		file:   "app/b.yaml",
		msg:    []string{"rendered output of app", "3000 bytes", "--max-rendered-bytes", "FERRY_RENDER_MAX_RENDERED_BYTES"},
	}, {
		name:   "rendered bytes, kustomize output",
		limits: source.Limits{MaxRenderedBytes: 3000},
		broken: map[string]string{"app/kustomization.yaml": "resources: [a.yaml]\nnamePrefix: p-\n", "app/a.yaml": configMapOf("a", 3100)},
		file:   "app",
		msg:    []string{"rendered output of app", "over the limit of 3000 bytes", "--max-rendered-bytes"},
	}, {
		name:   "bytes per object",
		limits: source.Limits{MaxObjectBytes: 1000},
		broken: map[string]string{"app/big.yaml": configMapOf("big", 1200)},
		file:   "app",
		msg:    []string{"object ConfigMap/big", "over the limit of 1000 bytes", "--max-object-bytes", "FERRY_RENDER_MAX_OBJECT_BYTES"},
	}, {
		name:   "objects per app",
		limits: source.Limits{MaxObjects: 3},
		broken: map[string]string{"app/many.yaml": configMap("a") + "---\n" + configMap("b") + "---\n" + configMap("c") + "---\n" + configMap("d")},
		file:   "app",
		msg:    []string{"number of objects rendered from app is 5, over the limit of 3", "--max-objects", "FERRY_RENDER_MAX_OBJECTS"},
	}, {
		name:   "files read from the repository",
		limits: source.Limits{MaxRepoFiles: 3},
		broken: map[string]string{"app/a.yaml": configMap("a"), "app/b.yaml": configMap("b"), "app/c.yaml": configMap("c"), "app/d.yaml": configMap("d")},
		file:   "app/d.yaml",
		msg:    []string{"repository files read", "at least 4, over the limit of 3", "--max-repo-files", "FERRY_RENDER_MAX_REPO_FILES"},
	}, {
		name:   "bytes read from the repository, through kustomize",
		limits: source.Limits{MaxRepoBytes: 3000},
		broken: map[string]string{"app/kustomization.yaml": "resources: [a.yaml, b.yaml]\n", "app/a.yaml": configMapOf("a", 1500), "app/b.yaml": configMapOf("b", 1500)},
		file:   "app/b.yaml",
		msg:    []string{"size of the repository files read", "over the limit of 3000 bytes", "--max-repo-bytes", "FERRY_RENDER_MAX_REPO_BYTES"},
	}, {
		name:   "helm template time",
		limits: source.Limits{HelmTimeout: 100 * time.Millisecond},
		// Four million template iterations take seconds, and output nothing.
		broken: map[string]string{"app/Chart.yaml": chartYAML, "app/templates/cm.yaml": configMap("ok") +
			"{{- range $i := until 2000 }}{{- range $j := until 2000 }}{{- end }}{{- end }}\n"},
		file: "app/Chart.yaml",
		msg:  []string{"helm's templating of app", "longer than 100ms", "--helm-timeout", "FERRY_RENDER_HELM_TIMEOUT"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Limits: tc.limits})
			r := e.repo("limits")
			_, good := e.push(r, map[string]string{
				"ferry.yaml": platformYAML("  - {name: app, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: prod}]}\n"),
				"app/a.yaml": configMap("a"),
			})
			e.waitDesired("prod", "app", good)
			_, broken := e.push(r, tc.broken)
			res := e.waitStatus("prod", "app", broken)
			e.waitSettled()
			if res.GetPhase() != ferryv1.Phase_PHASE_RENDER_FAILED || res.GetFile() != tc.file {
				t.Errorf("status: phase %v file %q; want RenderFailed, %q (message %q)", res.GetPhase(), res.GetFile(), tc.file, res.GetMessage())
			}
			for _, m := range append(tc.msg, "render limit exceeded") {
				if !strings.Contains(res.GetMessage(), m) {
					t.Errorf("message %q lacks %q", res.GetMessage(), m)
				}
			}
			var ds ferryv1.DesiredState
			if n := e.count(subject.StreamDesired, subject.Desired("prod", "app")); n != 1 ||
				!e.last(subject.StreamDesired, subject.Desired("prod", "app"), &ds) || ds.GetRevision() != good {
				t.Errorf("desired states = %d, last at %s; want only the good %s", n, ds.GetRevision(), good)
			}
		})
	}
}

// The same commit renders when the limit is raised: the limits, not the
// source, refused it.
func TestRenderLimitsRaised(t *testing.T) {
	e := newEnv(t, Options{Limits: source.Limits{MaxObjects: 5, MaxRenderedBytes: -1, MaxRepoFiles: 2}})
	r := e.repo("raised")
	_, rev := e.push(r, map[string]string{
		"ferry.yaml":    platformYAML("  - {name: app, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: prod}]}\n"),
		"app/many.yaml": configMap("a") + "---\n" + configMap("b") + "---\n" + configMap("c") + "---\n" + configMap("d"),
		"app/big.yaml":  configMapOf("big", 2<<20),
	})
	ds := e.waitDesired("prod", "app", rev)
	if ds.GetBundle() == "" {
		t.Errorf("a 2 MiB output should travel in the object store")
	}
}

// Flags and FERRY_RENDER_* variables set the limits; unset ones keep the
// defaults.
func TestLimitFlags(t *testing.T) {
	t.Setenv("FERRY_RENDER_MAX_OBJECTS", "12")
	t.Setenv("FERRY_RENDER_HELM_TIMEOUT", "3s")
	var o Options
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse([]string{"--max-rendered-bytes=1024", "--max-repo-files=-1"}); err != nil {
		t.Fatal(err)
	}
	got := limitsWithDefaults(o.Limits)
	want := DefaultLimits
	want.MaxObjects, want.HelmTimeout, want.MaxRenderedBytes, want.MaxRepoFiles = 12, 3*time.Second, 1024, -1
	if got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
	if got := limitsWithDefaults(source.Limits{}); got != DefaultLimits {
		t.Errorf("zero limits = %+v, want the defaults %+v", got, DefaultLimits)
	}
}
