package dashboard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// platformFiles registers three apps: guestbook (a Deployment, so it
// stays progressing in a cluster without controllers) in prod and in
// staging, which has no worker; api (always healthy objects) in prod; and
// payments, whose Deployment lacks a selector, so its apply fails.
func platformFiles(repoURL, greeting string) map[string]string {
	app := func(name string, dests ...string) string {
		var d strings.Builder
		for _, c := range dests {
			fmt.Fprintf(&d, "      - {cluster: %s, namespace: %s}\n", c, name)
		}
		return fmt.Sprintf("  - name: %s\n    source: {repo: %s, path: apps/%s, ref: main}\n    destinations:\n%s    sync: {automated: true, prune: true}\n",
			name, repoURL, name, d.String())
	}
	ns := func(name string) string { return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n" }
	return map[string]string{
		"ferry.yaml":                    "apps:\n" + app("guestbook", "prod", "staging") + app("api", "prod") + app("payments", "prod"),
		"apps/guestbook/namespace.yaml": ns("guestbook"),
		"apps/guestbook/config.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: " + greeting + "\n",
		"apps/guestbook/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example/guestbook:1.4
`,
		"apps/guestbook/service.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
		"apps/api/namespace.yaml":      ns("api"),
		"apps/api/config.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\ndata:\n  LOG_LEVEL: info\n",
		"apps/api/service.yaml":        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  selector: {app: api}\n  ports: [{port: 8080}]\n",
		"apps/payments/namespace.yaml": ns("payments"),
		"apps/payments/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments
spec:
  template:
    metadata: {labels: {app: payments}}
    spec:
      containers:
        - name: payments
          image: registry.example/payments:2.0
`,
	}
}

// push commits files to repo and sends the push webhook.
func push(t *testing.T, repo *gitserver.Repo, before string, files map[string]string, msg string) string {
	t.Helper()
	ctx := context.Background()
	sha, err := repo.CommitAndPush(ctx, files, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pipe.Webhook(ctx, "github", repo, before, sha, "delivery-"+sha); err != nil {
		t.Fatal(err)
	}
	return sha
}

// results follows every final sync result of the prod cluster from now on.
func results(t *testing.T) <-chan *ferryv1.SyncResult {
	t.Helper()
	ctx := context.Background()
	cons, err := pipe.JS.OrderedConsumer(ctx, subject.StreamStatus, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject.StatusForCluster(pipe.Cluster)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *ferryv1.SyncResult, 64)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var res ferryv1.SyncResult
		if _, err := events.DecodeMsg(ctx, msg, &res); err == nil && !res.GetAwaitingHealth() {
			ch <- &res
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return ch
}

// waitResults waits for a final result of revision for each app.
func waitResults(t *testing.T, ch <-chan *ferryv1.SyncResult, revision string, apps ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, a := range apps {
		want[a] = true
	}
	timeout := time.After(90 * time.Second)
	for len(want) > 0 {
		select {
		case res := <-ch:
			if res.GetRevision() == revision {
				delete(want, res.GetApp())
			}
		case <-timeout:
			t.Fatalf("no result for %s of %v within 90s (pipeline error: %v)", revision, want, pipe.Err())
		}
	}
}

// tab opens a browser tab for the test; it closes with the test.
func tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The first run creates the tab and binds it to ctx: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// do runs browser actions with a bound, failing the test on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression, awaiting a promise.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return get(t, ctx, "evaluate "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// eventually polls the expression until it is true, within a generous bound.
func eventually(t *testing.T, ctx context.Context, what, expr string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for !eval[bool](t, ctx, "Boolean("+expr+")") {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 20s; the page shows:\n%s", what, eval[string](t, ctx, "document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// screenshot saves the whole page as a PNG into $FERRY_SCREENSHOTS, else
// into the test's temporary directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FERRY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// lastCommand reads the newest command stored on subj.
func lastCommand(t *testing.T, subj string) *ferryv1.Command {
	t.Helper()
	s, err := pipe.JS.Stream(context.Background(), subject.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), subj)
	if err != nil {
		t.Fatalf("no command on %s: %v", subj, err)
	}
	var cmd ferryv1.Command
	if _, err := events.Decode(context.Background(), nil, msg.Data, &cmd); err != nil {
		t.Fatal(err)
	}
	return &cmd
}

// jsString quotes s for JavaScript.
func jsString(s string) string { return fmt.Sprintf("%q", s) }
