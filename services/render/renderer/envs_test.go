package renderer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// One repository, three environments: a kustomize app by overlay path
// (prod also by branch), a Helm chart by values file and Kubernetes
// version. The apps repository is pushed before the platform declares
// the apps: they render at once from the branch tip, without waiting for
// the apps repository's next push.
func TestEnvironments(t *testing.T) {
	e := newEnv(t, Options{})
	apps := e.repo("apps")
	files := testTree(t, "kustomize/repo", "web")
	for k, v := range testTree(t, "helm/repo", "") {
		files[k] = v
	}
	_, tip := e.push(apps, files)
	e.waitSettled()

	platform := e.repo("platform")
	e.push(platform, map[string]string{"ferry.yaml": platformYAML(`
  - name: web
    source: {repo: ` + apps.URL + `, path: web/overlays/dev}
    destinations:
      - {cluster: dev, namespace: web-dev}
      - {cluster: staging, namespace: web-staging, path: web/overlays/staging}
      - {cluster: prod, namespace: web-prod, path: web/overlays/prod, ref: release}
  - name: web-chart
    source: {repo: ` + apps.URL + `, path: chart}
    destinations:
      - {cluster: dev, namespace: web-dev, values: [values-dev.yaml]}
      - {cluster: staging, namespace: web-staging, values: [values-staging.yaml], kubeVersion: "1.18"}
`)})
	golden := func(p string) string {
		data, err := os.ReadFile(filepath.Join("..", "source", "testdata", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, env := range []string{"dev", "staging"} {
		ds := e.waitDesired(env, "web", tip)
		if string(ds.GetManifests()) != golden("kustomize/expected/"+env+".yaml") || ds.GetPath() != "web/overlays/"+env {
			t.Errorf("web on %s (path %s) differs from the %s overlay's golden output:\n%s", env, ds.GetPath(), env, ds.GetManifests())
		}
	}
	dev := e.waitDesired("dev", "web-chart", tip)
	staging := e.waitDesired("staging", "web-chart", tip)
	for _, c := range []struct {
		ds   *ferryv1.DesiredState
		want []string
	}{
		{dev, []string{`value: "dev"`, "replicas: 1", "namespace: web-dev", `kube-version: "v1.37.0"`}},
		{staging, []string{`value: "staging"`, "replicas: 2", "host: web.staging.example.com", "networking.k8s.io/v1beta1", "name: web-chart-web"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(string(c.ds.GetManifests()), w) {
				t.Errorf("helm on %s lacks %q:\n%s", c.ds.GetCluster(), w, c.ds.GetManifests())
			}
		}
		if c.ds.GetTool() != "helm" {
			t.Errorf("tool on %s = %s", c.ds.GetCluster(), c.ds.GetTool())
		}
	}
	if strings.Contains(string(dev.GetManifests()), "StatefulSet") || !strings.Contains(string(staging.GetManifests()), "StatefulSet") {
		t.Error("the vendored cache chart is disabled by values-dev.yaml and enabled elsewhere")
	}
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("prod", "web")); n != 0 {
		t.Fatalf("prod follows branch release, which does not exist yet; got %d desired states", n)
	}

	// The release branch appears: only prod follows it.
	apps.Branch = "release"
	_, rel := e.push(apps, map[string]string{"web/overlays/prod/replicas.yaml": strings.ReplaceAll(files["web/overlays/prod/replicas.yaml"], "replicas: 5", "replicas: 7")})
	prod := e.waitDesired("prod", "web", rel)
	want := strings.ReplaceAll(golden("kustomize/expected/prod.yaml"), "replicas: 5", "replicas: 7")
	if string(prod.GetManifests()) != want || prod.GetRef() != "release" {
		t.Errorf("prod (ref %s):\n%s\nwant\n%s", prod.GetRef(), prod.GetManifests(), want)
	}
	e.waitSettled()
	if got := e.desiredCounts("dev/web", "staging/web", "dev/web-chart", "staging/web-chart"); got["dev/web"] != 1 || got["staging/web"] != 1 ||
		got["dev/web-chart"] != 1 || got["staging/web-chart"] != 1 {
		t.Errorf("a push to release rendered main's destinations: %v", got)
	}
}

// Removing an app from ferry.yaml publishes deleted=true to each of its
// clusters; dropping one destination publishes it to that cluster only.
func TestRegistryRemovalPublishesDeletion(t *testing.T) {
	e := newEnv(t, Options{})
	apps := e.repo("apps")
	_, tip := e.push(apps, map[string]string{"a/cm.yaml": configMap("a"), "b/cm.yaml": configMap("b")})
	platform := e.repo("platform")
	appA := "  - {name: a, source: {repo: " + apps.URL + ", path: a}, destinations: [{cluster: c1, namespace: ns-a}, {cluster: c2}], sync: {prune: true}}\n"
	appB := "  - {name: b, source: {repo: " + apps.URL + ", path: b}, destinations: [{cluster: c1}, {cluster: c2}]}\n"
	e.push(platform, map[string]string{"ferry.yaml": platformYAML(appA, appB)})
	for _, id := range []string{"c1/a", "c2/a", "c1/b", "c2/b"} {
		cluster, app, _ := strings.Cut(id, "/")
		e.waitDesired(cluster, app, tip)
	}
	e.waitSettled()

	appB1 := "  - {name: b, source: {repo: " + apps.URL + ", path: b}, destinations: [{cluster: c1}]}\n"
	_, rev := e.push(platform, map[string]string{"ferry.yaml": platformYAML(appB1)})
	for _, id := range []string{"c1/a", "c2/a", "c2/b"} {
		cluster, app, _ := strings.Cut(id, "/")
		ds := e.waitDesired(cluster, app, rev)
		if !ds.GetDeleted() || len(ds.GetManifests()) != 0 {
			t.Errorf("%s: deleted=%v with %d bytes of manifests", id, ds.GetDeleted(), len(ds.GetManifests()))
		}
		if app == "a" && !ds.GetSync().GetPrune() {
			t.Errorf("%s: the deletion carries prune=%v, want the app's policy", id, ds.GetSync().GetPrune())
		}
	}
	var a1 ferryv1.DesiredState
	e.last(subject.StreamDesired, subject.Desired("c1", "a"), &a1)
	if a1.GetNamespace() != "ns-a" || a1.GetPath() != "a" {
		t.Errorf("deletion of c1/a: namespace %q path %q, want the last state's", a1.GetNamespace(), a1.GetPath())
	}
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("c1", "b")); n != 1 {
		t.Errorf("c1/b stays; got %d desired states, want 1", n)
	}
	if got := e.kvApps(); len(got) != 1 || got[0] != "b" {
		t.Errorf("registry = %v, want [b]", got)
	}
	// A redelivered platform push publishes no second deletion.
	e.publishPush(platform.URL, "refs/heads/main", rev)
	e.waitSettled()
	if n := e.count(subject.StreamDesired, subject.Desired("c2", "a")); n != 2 {
		t.Errorf("c2/a holds %d desired states, want 2 (state, deletion)", n)
	}
}
