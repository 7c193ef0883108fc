package registry

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
)

const valid = `
apps:
  - name: guestbook
    source: {repo: https://git.example.com/org/apps.git, path: guestbook, ref: main}
    destinations:
      - {cluster: staging, namespace: guestbook}
      - {cluster: prod, namespace: guestbook, ref: release, path: guestbook/overlays/prod, values: [values-prod.yaml], valuesObject: {replicas: 3}}
    sync: {automated: true, prune: true, selfHeal: true, createNamespace: true}
  - name: podinfo
    source: {repo: https://git.example.com/org/podinfo.git, path: ./deploy/}
    destinations:
      - {cluster: staging}
`

func TestParseValid(t *testing.T) {
	reg, err := Parse("ferry.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Apps) != 2 {
		t.Fatalf("apps = %d, want 2", len(reg.Apps))
	}
	gb := reg.App("guestbook")
	if gb == nil {
		t.Fatal("guestbook missing")
	}
	want := SyncPolicy{Automated: true, Prune: true, SelfHeal: true, CreateNamespace: true}
	if gb.Sync != want {
		t.Errorf("sync = %+v, want %+v", gb.Sync, want)
	}
	staging, prod := gb.Destinations[0], gb.Destinations[1]
	if got := gb.RefFor(staging); got != "main" {
		t.Errorf("staging ref = %q", got)
	}
	if got := gb.RefFor(prod); got != "release" {
		t.Errorf("prod ref = %q", got)
	}
	if got := gb.PathFor(staging); got != "guestbook" {
		t.Errorf("staging path = %q", got)
	}
	if got := gb.PathFor(prod); got != "guestbook/overlays/prod" {
		t.Errorf("prod path = %q", got)
	}
	if !reflect.DeepEqual(prod.Values, []string{"values-prod.yaml"}) || prod.ValuesObject["replicas"] != 3 {
		t.Errorf("prod values = %v %v", prod.Values, prod.ValuesObject)
	}
	pi := reg.App("podinfo")
	if got := pi.RefFor(pi.Destinations[0]); got != DefaultRef {
		t.Errorf("default ref = %q, want %q", got, DefaultRef)
	}
	if got := pi.PathFor(pi.Destinations[0]); got != "deploy" {
		t.Errorf("cleaned path = %q, want deploy", got)
	}
	if reg.App("nope") != nil {
		t.Error("App(nope) should be nil")
	}
}

func TestParseInvalid(t *testing.T) {
	app := func(body string) string {
		return "apps:\n  - name: ok\n    source: {repo: r, path: p}\n    destinations: [{cluster: a}]\n" + body
	}
	cases := []struct {
		name, doc string
		want      []string // substrings, all must appear
		is        error
	}{
		{"bad cluster", `
apps:
  - name: other
    source: {repo: r, path: p}
    destinations: [{cluster: a}]
  - name: guestbook
    source: {repo: r, path: p}
    destinations: [{cluster: Prod}]
`, []string{`ferry.yaml: apps[1] "guestbook": destinations[0].cluster: `, `"Prod" must be a DNS-1123 label`}, subject.ErrInvalidName},
		{"bad app name", app("  - name: Guest_Book\n    source: {repo: r, path: p}\n    destinations: [{cluster: a}]\n"),
			[]string{`apps[1] "Guest_Book": name: `}, subject.ErrInvalidName},
		{"duplicate app", app("  - name: ok\n    source: {repo: r, path: p}\n    destinations: [{cluster: a}]\n"),
			[]string{`apps[1] "ok": name: duplicate app name, first declared at apps[0]`}, nil},
		{"missing repo", "apps:\n  - name: a\n    source: {path: p}\n    destinations: [{cluster: c}]\n",
			[]string{`apps[0] "a": source.repo: is required`}, nil},
		{"missing path", "apps:\n  - name: a\n    source: {repo: r}\n    destinations: [{cluster: c}]\n",
			[]string{`apps[0] "a": source.path: is required`}, nil},
		{"no destinations", "apps:\n  - name: a\n    source: {repo: r, path: p}\n",
			[]string{`apps[0] "a": destinations: at least one destination`}, nil},
		{"duplicate cluster", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c}, {cluster: c}]\n",
			[]string{`destinations[1].cluster: "c" is already a destination at destinations[0]`}, nil},
		{"createNamespace without a namespace", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c}]\n    sync: {createNamespace: true}\n",
			[]string{`destinations[0].namespace: `, `createNamespace`}, nil},
		{"bad namespace", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c, namespace: Kube_System}]\n",
			[]string{`destinations[0].namespace: `}, subject.ErrInvalidName},
		{"escaping path", "apps:\n  - name: a\n    source: {repo: r, path: ../etc}\n    destinations: [{cluster: c}]\n",
			[]string{`source.path: "../etc" must not contain ".."`}, nil},
		{"absolute overlay", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c, path: /x}]\n",
			[]string{`destinations[0].path: "/x" must be relative`}, nil},
		{"full ref", "apps:\n  - name: a\n    source: {repo: r, path: p, ref: refs/heads/main}\n    destinations: [{cluster: c}]\n",
			[]string{`source.ref: "refs/heads/main": give the branch name`}, nil},
		{"bad dest ref", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c, ref: 'a..b'}]\n",
			[]string{`destinations[0].ref: "a..b" is not a valid branch name`}, nil},
		{"empty values file", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c, values: ['']}]\n",
			[]string{`destinations[0].values[0]: is empty`}, nil},
		{"unknown app field", "apps:\n  - name: a\n    sourc: {repo: r, path: p}\n    destinations: [{cluster: c}]\n",
			[]string{"ferry.yaml: ", "line 3: field sourc not found"}, nil},
		{"unknown destination field", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c, namespce: x}]\n",
			[]string{"field namespce not found"}, nil},
		{"unknown top-level field", "apps: []\nclustrs: []\n", []string{"field clustrs not found"}, nil},
		{"wrong type", "apps:\n  - name: a\n    source: {repo: r, path: p}\n    destinations: [{cluster: c}]\n    sync: {prune: maybe}\n",
			[]string{"ferry.yaml: ", "line 5"}, nil},
		{"two documents", "apps: []\n---\napps: []\n", []string{"more than one YAML document"}, nil},
		{"several errors at once", "apps:\n  - name: A\n    source: {}\n    destinations: [{cluster: B}]\n",
			[]string{`apps[0] "A": name:`, `source.repo: is required`, `source.path: is required`, `destinations[0].cluster:`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := Parse("ferry.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", reg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nwant it to contain\n  %s", err, w)
				}
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, doc := range []string{"", "apps: []\n", "# nothing yet\n"} {
		reg, err := Parse("ferry.yaml", []byte(doc))
		if err != nil || len(reg.Apps) != 0 {
			t.Errorf("Parse(%q) = %+v, %v; want an empty registry", doc, reg, err)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	reg, err := Parse("ferry.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	in := Entry{App: reg.Apps[0], Platform: "https://git.example.com/org/platform.git"}
	data, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var flat map[string]any
	if err := json.Unmarshal(data, &flat); err != nil || flat["name"] != "guestbook" || flat["platform"] == nil {
		t.Fatalf("entry JSON is not flat: %s (%v)", data, err)
	}
	out, err := UnmarshalEntry(data)
	if err != nil {
		t.Fatal(err)
	}
	// JSON numbers come back as float64; compare the rest.
	out.Destinations[1].ValuesObject, in.Destinations[1].ValuesObject = nil, nil
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *out, in)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("apps: [{name: a}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := Parse("ferry.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, a := range reg.Apps {
			if subject.ValidateName(a.Name) != nil {
				t.Fatalf("accepted invalid name %q", a.Name)
			}
		}
	})
}

// clusters[] gives destinations their Kubernetes version unless they set
// their own; bad versions and unknown fields name the file and field.
func TestParseKubeVersion(t *testing.T) {
	data := []byte(`clusters:
- {name: prod, kubeVersion: "1.36"}
apps:
- name: web
  source: {repo: https://git.example.com/a.git, path: web}
  destinations:
  - {cluster: prod}
  - {cluster: edge, kubeVersion: v1.35.2}
  - {cluster: dev}
`)
	reg, err := Parse("ferry.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	a := reg.App("web")
	got := []string{a.KubeVersionFor(a.Destinations[0]), a.KubeVersionFor(a.Destinations[1]), a.KubeVersionFor(a.Destinations[2])}
	if got[0] != "1.36" || got[1] != "v1.35.2" || got[2] != DefaultKubeVersion {
		t.Errorf("kube versions = %v", got)
	}
	bad := []byte(`clusters:
- {name: prod, kubeVersion: latest}
apps:
- name: web
  source: {repo: https://git.example.com/a.git, path: web}
  destinations: [{cluster: prod, kubeVersion: "1"}]
`)
	_, err = Parse("ferry.yaml", bad)
	if err == nil || !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), `ferry.yaml: clusters[0]: kubeVersion: "latest"`) ||
		!strings.Contains(err.Error(), `ferry.yaml: apps[0] "web": destinations[0].kubeVersion`) {
		t.Errorf("err = %v", err)
	}
}

func TestParseIgnoreDifferences(t *testing.T) {
	const base = `apps:
  - name: web
    source: {repo: https://git.example/org/apps.git, path: web}
    destinations: [{cluster: prod}]
    ignoreDifferences:
`
	reg, err := Parse("ferry.yaml", []byte(base+`      - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := reg.Apps[0].IgnoreDifferences
	if len(got) != 1 || got[0].Kind != "Deployment" || got[0].Group != "apps" || got[0].JSONPointers[0] != "/spec/replicas" {
		t.Fatalf("ignoreDifferences = %+v", got)
	}
	for name, rule := range map[string]string{
		"no pointers":   "      - {kind: Deployment}\n",
		"not a pointer": "      - {kind: Deployment, jsonPointers: [spec.replicas]}\n",
		"unknown field": "      - {kind: Deployment, jsonPointers: [/a], jqPathExpressions: [.a]}\n",
	} {
		_, err := Parse("ferry.yaml", []byte(base+rule))
		if err == nil || !strings.Contains(err.Error(), "ferry.yaml") {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
		if name != "unknown field" && !strings.Contains(err.Error(), "ignoreDifferences[0].jsonPointers") {
			t.Errorf("%s: err = %v, want it to name the field", name, err)
		}
	}
}
