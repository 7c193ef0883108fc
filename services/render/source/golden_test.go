package source

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/manifest"
	"github.com/ferrycd/ferry/pkg/registry"
)

var update = flag.Bool("update", false, "rewrite the expected YAML under testdata/<case>/expected/")

// goldenRender is one render of a golden case: a request against the
// case's repo/ tree and the file its output is compared with.
type goldenRender struct {
	name string
	req  Request
	tool string
}

// TestGolden renders every case under testdata/<case>/repo and compares
// the output with testdata/<case>/expected/<render>.yaml. Run with
// -update to accept new output (and review the diff).
func TestGolden(t *testing.T) {
	cases := map[string][]goldenRender{
		"plain": {
			{name: "app", tool: "plain", req: Request{Path: "app", Name: "app", Namespace: "demo"}},
		},
		"kustomize": {
			{name: "dev", tool: "kustomize", req: Request{Path: "overlays/dev", Name: "web", Namespace: "web-dev"}},
			{name: "staging", tool: "kustomize", req: Request{Path: "overlays/staging", Name: "web", Namespace: "web-staging"}},
			{name: "prod", tool: "kustomize", req: Request{Path: "overlays/prod", Name: "web", Namespace: "web-prod"}},
			{name: "base", tool: "kustomize", req: Request{Path: "base", Name: "web", Namespace: "web"}},
		},
		"helm": {
			{name: "defaults", tool: "helm", req: Request{Path: "chart", Name: "web", Namespace: "web"}},
			{name: "dev", tool: "helm", req: Request{Path: "chart", Name: "web", Namespace: "web-dev", Values: []string{"values-dev.yaml"}}},
			{name: "staging", tool: "helm", req: Request{Path: "chart", Name: "web", Namespace: "web-staging", Values: []string{"values-staging.yaml"}, KubeVersion: "1.18"}},
			{name: "prod", tool: "helm", req: Request{Path: "chart", Name: "shop", Namespace: "shop", Values: []string{"values-prod.yaml"},
				ValuesObject: map[string]any{"replicas": 6, "image": map[string]any{"repository": "registry.example.com/web"}}, KubeVersion: "v1.37.2"}},
		},
		"registry": registryRenders(t),
	}
	for name, renders := range cases {
		t.Run(name, func(t *testing.T) {
			root := os.DirFS(filepath.Join("testdata", name, "repo"))
			for _, g := range renders {
				t.Run(g.name, func(t *testing.T) {
					req := g.req
					req.Root = root
					dir, err := req.dir()
					if err != nil {
						t.Fatal(err)
					}
					tool, err := Detect(dir, Tools())
					if err != nil {
						t.Fatal(err)
					}
					if tool.Name() != g.tool {
						t.Fatalf("detected %s, want %s", tool.Name(), g.tool)
					}
					out, err := tool.Render(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := manifest.Parse(g.name, out); err != nil {
						t.Fatalf("output does not parse: %v\n%s", err, out)
					}
					compareGolden(t, filepath.Join("testdata", name, "expected", g.name+".yaml"), out)
				})
			}
		})
	}
}

// registryRenders reads the registry case's ferry.yaml: every app ×
// destination of the monorepo is one render.
func registryRenders(t *testing.T) []goldenRender {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "registry", "repo", registry.FileName))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Parse(registry.FileName, data)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]string{"web": "kustomize", "worker": "kustomize", "docs": "plain"}
	var out []goldenRender
	for _, a := range reg.Apps {
		for _, d := range a.Destinations {
			out = append(out, goldenRender{name: a.Name + "-" + d.Cluster, tool: tools[a.Name], req: Request{
				Path: a.PathFor(d), Name: a.Name, Namespace: d.Namespace, Values: d.Values, ValuesObject: d.ValuesObject,
				KubeVersion: a.KubeVersionFor(d),
			}})
		}
	}
	if len(out) != 4 {
		t.Fatalf("registry case has %d renders, want 4", len(out))
	}
	return out
}

func compareGolden(t *testing.T, p string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// The recorded inputs of a kustomize overlay include the shared base
// outside the app directory and not the sibling overlays.
func TestKustomizeInputsIncludeBase(t *testing.T) {
	root, in := Record(os.DirFS(filepath.Join("testdata", "kustomize", "repo")))
	if _, err := (Kustomize{}).Render(context.Background(), Request{Root: root, Path: "overlays/prod", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	paths := in.Paths()
	for _, want := range []string{"overlays/prod/kustomization.yaml", "overlays/prod/replicas.yaml", "base/kustomization.yaml",
		"base/deployment.yaml", "base/service.yaml", "base/config.properties"} {
		if paths[want]&Read == 0 {
			t.Errorf("%s not recorded as read; recorded %v", want, keys(paths))
		}
	}
	for p := range paths {
		if strings.HasPrefix(p, "overlays/dev") || strings.HasPrefix(p, "overlays/staging") {
			t.Errorf("recorded %s, which the prod overlay does not use", p)
		}
	}
}

// The recorded inputs of a chart include its vendored dependency and the
// destination's values file, not the other environments' values.
func TestHelmInputs(t *testing.T) {
	root, in := Record(os.DirFS(filepath.Join("testdata", "helm", "repo")))
	if _, err := (Helm{}).Render(context.Background(), Request{Root: root, Path: "chart", Name: "web", Values: []string{"values-prod.yaml"}}); err != nil {
		t.Fatal(err)
	}
	paths := in.Paths()
	for _, want := range []string{"chart/Chart.yaml", "chart/values-prod.yaml", "chart/charts/cache/templates/statefulset.yaml"} {
		if paths[want]&Read == 0 {
			t.Errorf("%s not recorded as read; recorded %v", want, keys(paths))
		}
	}
}

func keys(m map[string]Access) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var _ fs.FS = (*recFS)(nil)
