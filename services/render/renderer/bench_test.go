package renderer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	"github.com/ferrycd/ferry/services/render/gitcache"
	"github.com/ferrycd/ferry/services/render/source"
)

// benchApp is a repository with one app to render, and a change to an
// input file that a warm render picks up.
type benchApp struct {
	files  map[string]string
	path   string
	values []string
	bump   func(i int) map[string]string
}

// kustomizeOverlay is a 20-resource overlay (12 ConfigMaps, 4 Services,
// 4 Deployments) over a base, with namePrefix, a patch, an image and a
// generated ConfigMap.
func kustomizeOverlay() benchApp {
	files := map[string]string{}
	var res []string
	for i := range 12 {
		name := fmt.Sprintf("cm-%02d.yaml", i)
		files["base/"+name] = configMap(fmt.Sprintf("cm-%02d", i))
		res = append(res, name)
	}
	for i := range 4 {
		svc, dep := fmt.Sprintf("svc-%d.yaml", i), fmt.Sprintf("deploy-%d.yaml", i)
		files["base/"+svc] = fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: web-%d\nspec:\n  ports:\n  - port: 80\n", i)
		files["base/"+dep] = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-%d\nspec:\n  replicas: 1\n"+
			"  selector:\n    matchLabels: {app: web-%d}\n  template:\n    metadata:\n      labels: {app: web-%d}\n"+
			"    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n", i, i, i)
		res = append(res, svc, dep)
	}
	files["base/kustomization.yaml"] = "resources:\n- " + strings.Join(res, "\n- ") + "\n"
	overlay := func(replicas int) string {
		return fmt.Sprintf("namePrefix: prod-\nnamespace: web\nresources: [../../base]\npatches:\n- target: {kind: Deployment}\n  patch: |\n"+
			"    - {op: replace, path: /spec/replicas, value: %d}\nimages:\n- {name: nginx, newTag: \"1.27.3\"}\n"+
			"configMapGenerator:\n- {name: settings, literals: [env=prod]}\n", replicas)
	}
	files["overlays/prod/kustomization.yaml"] = overlay(3)
	return benchApp{files: files, path: "overlays/prod", bump: func(i int) map[string]string {
		return map[string]string{"overlays/prod/kustomization.yaml": overlay(4 + i)}
	}}
}

// helmChart is the golden chart with a vendored dependency, prod values.
func helmChart(b *testing.B) benchApp {
	files := testTree(b, "helm/repo", "")
	return benchApp{files: files, path: "chart", values: []string{"values-prod.yaml"}, bump: func(i int) map[string]string {
		return map[string]string{"chart/values-prod.yaml": files["chart/values-prod.yaml"] + fmt.Sprintf("replicas: %d\n", 5+i)}
	}}
}

// BenchmarkRender measures one app's render for a push: cold (first
// clone + render), warm (incremental fetch of a new commit that changes
// an input + render) and cache hit (a commit whose inputs were rendered
// before: observe the inputs in the tree and take the cached output).
// Committing and pushing with the git CLI is not timed.
func BenchmarkRender(b *testing.B) {
	for _, app := range []struct {
		name string
		app  func(*testing.B) benchApp
	}{{"kustomize-20", func(*testing.B) benchApp { return kustomizeOverlay() }}, {"helm", helmChart}} {
		b.Run(app.name+"/cold", func(b *testing.B) { benchRender(b, app.app(b), "cold") })
		b.Run(app.name+"/warm", func(b *testing.B) { benchRender(b, app.app(b), "warm") })
		b.Run(app.name+"/cache-hit", func(b *testing.B) { benchRender(b, app.app(b), "hit") })
	}
}

func benchRender(b *testing.B, app benchApp, mode string) {
	ctx := context.Background()
	gs, err := gitserver.Start(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gs.Close() })
	repo, err := gs.NewRepo(ctx, "bench", filepath.Join(b.TempDir(), "work"))
	if err != nil {
		b.Fatal(err)
	}
	sha, err := repo.CommitAndPush(ctx, app.files, "seed")
	if err != nil {
		b.Fatal(err)
	}
	t := target{entry: &registry.Entry{App: registry.App{Name: "bench", Source: registry.Source{Repo: repo.URL, Path: app.path}}},
		dest: registry.Destination{Cluster: "c", Namespace: "web", Values: app.values}}
	newRenderer := func() *renderer {
		cache, err := gitcache.New(b.TempDir(), time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		return &renderer{cache: cache, tools: source.Tools(), state: newState(64 << 20)}
	}
	// once checks out rev and produces t's output the way renderTarget does.
	once := func(r *renderer, rev string) {
		snap, err := r.cache.Checkout(ctx, repo.URL, "main", rev)
		if err != nil {
			b.Fatal(err)
		}
		defer snap.Close()
		params := renderKey(t)
		out, obs, err := r.output(ctx, snap, t, r.state.record(t), params, map[string]memoEntry{})
		if err != nil || out.err != nil || len(out.data) == 0 {
			b.Fatalf("render: %v %v", err, out.err)
		}
		r.state.setRecord(t, &record{rev: rev, params: params, obs: obs})
	}
	r := newRenderer()
	once(r, sha)
	before := r.state.counters()
	b.ResetTimer()
	for i := range b.N {
		switch mode {
		case "cold":
			b.StopTimer()
			r = newRenderer()
			b.StartTimer()
		case "warm":
			b.StopTimer()
			if sha, err = repo.CommitAndPush(ctx, app.bump(i), "bump"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		once(r, sha)
	}
	b.StopTimer()
	c := r.state.counters()
	switch {
	case mode == "hit" && c.Renders != before.Renders:
		b.Fatalf("cache-hit benchmark rendered %d times", c.Renders-before.Renders)
	case mode == "warm" && c.Renders-before.Renders != int64(b.N):
		b.Fatalf("warm benchmark rendered %d times for %d commits", c.Renders-before.Renders, b.N)
	}
}

// BenchmarkMonorepo500 measures one commit touching 500 apps of a
// monorepo (their shared kustomize base) from the push event to the last
// of the 500 DesiredStates being stored in JetStream, with render's
// consumer loop, an embedded NATS server and a git server over HTTP.
func BenchmarkMonorepo500(b *testing.B) {
	const apps = 500
	e := newEnv(b, Options{})
	r := e.repo("mono500")
	files := map[string]string{
		"shared/base/kustomization.yaml": "resources: [deploy.yaml, cm.yaml]\n",
		"shared/base/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n" +
			"  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n" +
			"    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/app:1.0.0\n",
		"shared/base/cm.yaml": configMap("settings"),
	}
	var reg strings.Builder
	reg.WriteString("apps:\n")
	for i := range apps {
		name := fmt.Sprintf("app-%03d", i)
		files["apps/"+name+"/kustomization.yaml"] = "namePrefix: " + name + "-\nresources: [../../shared/base]\n"
		fmt.Fprintf(&reg, "  - {name: %s, source: {repo: %s, path: apps/%s}, destinations: [{cluster: prod, namespace: %s}]}\n", name, r.URL, name, name)
	}
	files["ferry.yaml"] = reg.String()
	_, sha := e.push(r, files)
	waitAll := func(rev string) {
		e.eventually("500 desired states", func() bool {
			var ds = e.lastRevision("prod", fmt.Sprintf("app-%03d", apps-1))
			if ds != rev {
				return false
			}
			for i := range apps {
				if e.lastRevision("prod", fmt.Sprintf("app-%03d", i)) != rev {
					return false
				}
			}
			return true
		})
	}
	waitAll(sha)
	e.waitSettled()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		before, err := r.Head(e.ctx)
		if err != nil {
			b.Fatal(err)
		}
		after, err := r.CommitAndPush(e.ctx, map[string]string{"shared/base/deploy.yaml": strings.Replace(files["shared/base/deploy.yaml"],
			"app:1.0.0", fmt.Sprintf("app:1.%d.0", i+1), 1)}, "bump base")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		e.publishPushFrom(r.URL, "refs/heads/main", before, after)
		waitAll(after)
	}
	b.StopTimer()
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("prod", "app-000")); n != uint64(b.N+1) {
		b.Fatalf("app-000 has %d desired states, want %d", n, b.N+1)
	}
}
