package renderer

import (
	"strings"
	"testing"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

const chartYAML = "apiVersion: v2\nname: app\nversion: 0.1.0\n"

const chartTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  host: {{ required "db.host is required" .Values.db.host }}
{{- if .Values.explode }}
  broken: {{ fail (printf "cannot reach the database with %s" .Values.db.password) }}
{{- end }}
`

// Each broken commit publishes RenderFailed with the tool's message, the
// file and the revision, and no desired state: the cluster keeps the
// last good revision. Secret values never reach the status or the logs.
func TestRenderFailures(t *testing.T) {
	const password = "hunter2-s3cr3t-Pa55"
	cases := []struct {
		name   string
		good   map[string]string
		broken map[string]string
		file   string
		msg    []string
	}{{
		name:   "bad yaml",
		good:   map[string]string{"app/ok.yaml": configMap("ok")},
		broken: map[string]string{"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n"},
		file:   "app/bad.yaml",
		msg:    []string{"app/bad.yaml", "document 1"},
	}, {
		name:   "unknown kustomize field",
		good:   map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": configMap("ok")},
		broken: map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\nnamePrefixx: x-\n"},
		file:   "app/kustomization.yaml",
		msg:    []string{"namePrefixx", "app/kustomization.yaml"},
	}, {
		name: "kustomize base outside the repository's reach",
		good: map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": configMap("ok")},
		broken: map[string]string{"app/kustomization.yaml": "resources:\n- cm.yaml\n- https://github.com/example/base//deploy?ref=v1\n",
			"app/cm.yaml": configMap("ok")},
		file: "app/kustomization.yaml",
		msg:  []string{"remote base", "https://github.com/example/base//deploy?ref=v1"},
	}, {
		name: "helm template error",
		good: map[string]string{"app/Chart.yaml": chartYAML, "app/templates/cm.yaml": chartTemplate,
			"app/values.yaml": "db:\n  host: db.local\n  password: " + password + "\n"},
		broken: map[string]string{"app/values.yaml": "db:\n  password: " + password + "\n"},
		file:   "app/templates/cm.yaml",
		msg:    []string{"db.host is required", "app/templates/cm.yaml"},
	}, {
		name: "helm error echoing a secret",
		good: map[string]string{"app/Chart.yaml": chartYAML, "app/templates/cm.yaml": chartTemplate,
			"app/values.yaml": "db:\n  host: db.local\n  password: " + password + "\n"},
		broken: map[string]string{"app/values.yaml": "explode: true\ndb:\n  host: db.local\n  password: " + password + "\n"},
		file:   "app/templates/cm.yaml",
		msg:    []string{"cannot reach the database with [REDACTED]"},
	}, {
		name: "helm dependency not vendored",
		good: map[string]string{"app/Chart.yaml": chartYAML, "app/templates/cm.yaml": chartTemplate, "app/values.yaml": "db: {host: h}\n"},
		broken: map[string]string{"app/Chart.yaml": chartYAML +
			"dependencies:\n- {name: redis, version: 19.0.0, repository: https://charts.bitnami.com/bitnami}\n"},
		file: "app/Chart.yaml",
		msg:  []string{"redis 19.0.0", "not vendored", "helm dependency build"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			r := e.repo("fail")
			tc.good["ferry.yaml"] = platformYAML("  - {name: app, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: prod}]}\n")
			_, good := e.push(r, tc.good)
			e.waitDesired("prod", "app", good)
			_, broken := e.push(r, tc.broken)
			res := e.waitStatus("prod", "app", broken)
			e.waitSettled()
			if res.GetPhase() != ferryv1.Phase_PHASE_RENDER_FAILED || res.GetFile() != tc.file || res.GetRevision() != broken {
				t.Errorf("status: phase %v file %q revision %s; want RenderFailed, %q, %s", res.GetPhase(), res.GetFile(), res.GetRevision(), tc.file, broken)
			}
			for _, m := range tc.msg {
				if !strings.Contains(res.GetMessage(), m) {
					t.Errorf("message %q lacks %q", res.GetMessage(), m)
				}
			}
			var ds ferryv1.DesiredState
			if n := e.count(subject.StreamDesired, subject.Desired("prod", "app")); n != 1 ||
				!e.last(subject.StreamDesired, subject.Desired("prod", "app"), &ds) || ds.GetRevision() != good {
				t.Errorf("desired states = %d, last at %s; want only the good %s", n, ds.GetRevision(), good)
			}
			if strings.Contains(res.GetMessage(), password) || strings.Contains(e.logs.String(), password) {
				t.Errorf("the secret leaked: message %q; in logs: %v", res.GetMessage(), strings.Contains(e.logs.String(), password))
			}
		})
	}
}

// Rendered Secret data appears in the desired state only: not in logs,
// nor in the status of a later failure of the same app.
func TestSecretDataStaysInDesiredState(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.repo("sec")
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: aHVudGVyMi1zM2NyM3Q=\nstringData:\n  token: tok-0123456789abcdef\n"
	_, good := e.push(r, map[string]string{
		"ferry.yaml":             platformYAML("  - {name: app, source: {repo: " + r.URL + ", path: app}, destinations: [{cluster: prod}]}\n"),
		"app/secret.yaml":        secret,
		"app/kustomization.yaml": "resources: [secret.yaml]\nsecretGenerator:\n- name: gen\n  literals: [apikey=lit-9f8e7d6c5b4a]\n",
	})
	ds := e.waitDesired("prod", "app", good)
	if !strings.Contains(string(ds.GetManifests()), "aHVudGVyMi1zM2NyM3Q=") {
		t.Fatalf("the desired state must carry the secret:\n%s", ds.GetManifests())
	}
	// A patch on a missing object: kustomize echoes the patch, secret and all.
	_, broken := e.push(r, map[string]string{"app/kustomization.yaml": "resources: [secret.yaml]\nsecretGenerator:\n- name: gen\n  literals: [apikey=lit-9f8e7d6c5b4a]\n" +
		"patches:\n- patch: |\n    apiVersion: v1\n    kind: Secret\n    metadata: {name: nope}\n    stringData: {token: tok-0123456789abcdef, password: hunter2-s3cr3t}\n"})
	res := e.waitStatus("prod", "app", broken)
	e.waitSettled()
	logs := e.logs.String()
	for _, s := range []string{"aHVudGVyMi1zM2NyM3Q=", "hunter2-s3cr3t", "tok-0123456789abcdef", "lit-9f8e7d6c5b4a"} {
		if strings.Contains(res.GetMessage(), s) || strings.Contains(logs, s) {
			t.Errorf("%q leaked (message %q)", s, res.GetMessage())
		}
	}
	if res.GetPhase() != ferryv1.Phase_PHASE_RENDER_FAILED || res.GetFile() != "app/kustomization.yaml" {
		t.Errorf("status: %v %q %q", res.GetPhase(), res.GetFile(), res.GetMessage())
	}
}
