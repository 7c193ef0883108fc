// Package cli tests the ferry CLI against the real pipeline: embedded
// NATS with JetStream, a git smart-HTTP server, signed webhooks and a
// kube-apiserver, with every service in process. The CLI runs in process
// through cli.Run with buffers; one test builds the binary for its exit
// codes.
package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/ferry/cli"
	"github.com/ferrycd/ferry/test/harness"
)

// clusterName is the cluster the pipeline's worker serves.
const clusterName = "cli"

var (
	pipe *harness.Pipeline
	kube kubernetes.Interface
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	w, err := harness.StartWithCluster(ctx, "ferry-cli-", harness.Config{Cluster: clusterName, HealthTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer w.Close()
	pipe, kube = w.Pipeline, w.Kube
	// Spans of every service go to FERRY_TRACES, as in ferry dev.
	shutdown, err := telemetry.Setup(ctx, "ferry-cli-test", telemetry.NATSSpans(pipe.NC, "ferry-cli-test", ""))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = shutdown(context.Background()) }()
	return m.Run()
}

// result is one CLI run.
type result struct {
	out, err string
	code     int
}

// ferry runs the CLI in process against the pipeline's NATS.
func ferry(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--nats-url", pipe.NATS.ClientURL())
	code := cli.Run(t.Context(), args, &out, &errOut)
	return result{out: out.String(), err: errOut.String(), code: code}
}

// ok runs the CLI and fails unless it exits 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := ferry(t, args...)
	if r.code != cli.ExitOK {
		t.Fatalf("ferry %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// jsonOf runs the CLI with -o json and decodes its output into v.
func jsonOf(t *testing.T, v any, args ...string) {
	t.Helper()
	out := ok(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("ferry %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// row returns the fields of the table row of out whose first two fields
// are first and second, failing if there is none.
func row(t *testing.T, out, first, second string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == first && f[1] == second {
			return f
		}
	}
	t.Fatalf("no row %q %q in:\n%s", first, second, out)
	return nil
}

// rowOf returns the fields of the first table row of out whose first
// field is first.
func rowOf(t *testing.T, out, first string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			return f
		}
	}
	t.Fatalf("no row %q in:\n%s", first, out)
	return nil
}

// header returns the first line's fields.
func header(out string) []string {
	line, _, _ := strings.Cut(out, "\n")
	return strings.Fields(line)
}

// app is one app's files in a platform repository of its own.
type app struct {
	name string
	repo *gitserver.Repo
	n    int
}

// newApp creates the platform repository of an app.
func newApp(t *testing.T, name string) *app {
	t.Helper()
	repo, err := pipe.Git.NewRepo(t.Context(), "platform-"+name, filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return &app{name: name, repo: repo}
}

// files is the app's ferry.yaml (prune on, self-heal off) and manifests:
// a Namespace, a ConfigMap naming the revision, a Secret and a Service,
// all healthy as soon as they exist; extra files are added.
func (a *app) files(greeting string, extra map[string]string) map[string]string {
	dir := "apps/" + a.name + "/"
	f := map[string]string{
		"ferry.yaml": fmt.Sprintf(`apps:
  - name: %[1]s
    source: {repo: %[2]s, path: apps/%[1]s, ref: main}
    destinations:
      - {cluster: %[3]s, namespace: %[1]s}
    sync: {automated: true, prune: true}
`, a.name, a.repo.URL, clusterName),
		dir + "namespace.yaml": fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", a.name),
		dir + "config.yaml":    fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: %s\n", greeting),
		dir + "secret.yaml": fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: %s\n",
			base64.StdEncoding.EncodeToString([]byte("desired-password"))),
		dir + "service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
	}
	for k, v := range extra {
		f[dir+k] = v
	}
	return f
}

// push commits files and sends the push's webhook; it returns the commit
// and the delivery (push) id.
func (a *app) push(t *testing.T, files map[string]string, msg string) (sha, pushID string) {
	t.Helper()
	before := pushhook.ZeroSHA
	if a.n > 0 {
		head, err := a.repo.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		before = head
	}
	sha, err := a.repo.CommitAndPush(t.Context(), files, msg)
	if err != nil {
		t.Fatal(err)
	}
	a.n++
	pushID = fmt.Sprintf("%s-push-%d", a.name, a.n)
	if err := pipe.Webhook(t.Context(), pushhook.GitHub, a.repo, before, sha, pushID); err != nil {
		t.Fatal(err)
	}
	return sha, pushID
}

// appJSON is `ferry get apps -o json`, as scripts read it.
type appJSON struct {
	Apps []struct {
		App       string `json:"app"`
		Cluster   string `json:"cluster"`
		Revision  string `json:"revision"`
		Sync      string `json:"sync"`
		Health    string `json:"health"`
		Drifted   bool   `json:"drifted"`
		PinnedTo  string `json:"pinnedTo"`
		Suspended bool   `json:"suspended"`
		Message   string `json:"message"`
		Commit    *struct {
			ID, Message, Author string
		} `json:"commit"`
	} `json:"apps"`
}

// waitApp polls `ferry get apps NAME -o json` until cond accepts it.
func waitApp(t *testing.T, name, what string, cond func(a appJSON) bool) appJSON {
	t.Helper()
	var got appJSON
	var last result
	deadline := time.Now().Add(60 * time.Second)
	for {
		last = ferry(t, "get", "apps", name, "-o", "json")
		got = appJSON{}
		if last.code == 0 && json.Unmarshal([]byte(last.out), &got) == nil && len(got.Apps) == 1 && cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within 60s; last: exit %d\n%s%s", what, last.code, last.out, last.err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// synced waits until name runs revision sha, healthy.
func synced(t *testing.T, name, sha string) {
	t.Helper()
	waitApp(t, name, name+" synced and healthy at "+sha, func(a appJSON) bool {
		return a.Apps[0].Revision == sha && a.Apps[0].Sync == "Synced" && a.Apps[0].Health == "Healthy"
	})
}

// eventually retries cond for a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within 60s (pipeline error: %v)", what, pipe.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
