// Package quickstart runs `ferry dev` as a new user would: build the binary,
// start it, wait for the sample app, then follow the printed instructions
// (edit, commit, push) and see the change deployed.
package quickstart

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// output collects the lines ferry dev prints and lets a test wait for one.
type output struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func (o *output) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		o.mu.Lock()
		o.lines = append(o.lines, sc.Text())
		o.mu.Unlock()
		select {
		case o.added <- struct{}{}:
		default:
		}
	}
}

func (o *output) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.lines, "\n")
}

func (o *output) wait(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := re.FindStringSubmatch(o.text()); m != nil {
			return m
		}
		select {
		case <-o.added:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatalf("ferry dev did not print %q within %s; output so far:\n%s", re, timeout, o.text())
		}
	}
}

func TestDevQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "ferry")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./services/ferry")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build ferry: %v\n%s", err, out)
	}

	// Run it as a user does, in a directory of their own with the default
	// state directory ./.ferry-dev: relative paths must work.
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "dev", "--ingest-addr", "127.0.0.1:0", "--nats-port", "-1", "--dashboard-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &output{added: make(chan struct{}, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go out.consume(pr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); _ = pw.Close() }()
	t.Cleanup(func() {
		// Graceful stop by PID: ferry dev stops kube-apiserver, then etcd.
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("ferry dev did not stop within 60s of SIGINT")
		}
	})

	out.wait(t, regexp.MustCompile(`✓ synced guestbook → local @ \w+: 4 objects`), 12*time.Minute)
	// The local cluster runs controllers and kwok nodes: the sample app
	// really becomes healthy.
	out.wait(t, regexp.MustCompile(`♥ healthy guestbook → local @ \w+`), 3*time.Minute)
	work := out.wait(t, regexp.MustCompile(`working copy: (\S+)\)`), time.Second)[1]
	if !filepath.IsAbs(work) {
		work = filepath.Join(dir, work) // printed relative to where ferry dev runs
	}
	kubeconfig := out.wait(t, regexp.MustCompile(`kubectl --kubeconfig (\S+) get all`), time.Second)[1]
	checkDashboard(t, out.wait(t, regexp.MustCompile(`dashboard  (\S+)   \(log in with the operator token (\w+),`), time.Second)[1:])
	checkCLI(ctx, t, bin, out.wait(t, regexp.MustCompile(`export (FERRY_NATS_URL=\S+) (FERRY_NATS_NKEY_SEED=\S+)`), time.Second)[1:])

	// Follow the printed instructions.
	dep := filepath.Join(work, "guestbook", "deployment.yaml")
	data, err := os.ReadFile(dep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dep, []byte(strings.Replace(string(data), "replicas: 1", "replicas: 3", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"commit", "-qam", "Scale guestbook"}, {"push", "-q"}} {
		git := exec.CommandContext(ctx, "git", args...)
		git.Dir = work
		if b, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
	}
	out.wait(t, regexp.MustCompile(`✓ synced guestbook → local @ \w+: 4 objects \(1 configured, 3 unchanged\)`), time.Minute)
	out.wait(t, regexp.MustCompile(`(?s)1 configured, 3 unchanged.*♥ healthy guestbook`), 3*time.Minute)

	// And the cluster agrees, through the kubeconfig the banner printed.
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	d, err := kubernetes.NewForConfigOrDie(cfg).AppsV1().Deployments("guestbook").Get(ctx, "guestbook-ui", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 3 {
		t.Fatalf("deployment guestbook-ui: %v (err %v), want 3 replicas", d, err)
	}

	// The banner's drift step: scale behind Git's back; self-heal reverts it.
	kube := kubernetes.NewForConfigOrDie(cfg)
	scale, err := kube.AppsV1().Deployments("guestbook").GetScale(ctx, "guestbook-ui", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 5
	if _, err := kube.AppsV1().Deployments("guestbook").UpdateScale(ctx, "guestbook-ui", scale,
		metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	out.wait(t, regexp.MustCompile(`⚠ drift in guestbook → local: Deployment/guestbook-ui /spec/replicas: 5 → 3 \(by kubectl-scale\) — reverted by self-heal`), time.Minute)
	d, err = kube.AppsV1().Deployments("guestbook").Get(ctx, "guestbook-ui", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 3 {
		t.Fatalf("after self-heal: %v (err %v), want 3 replicas", d, err)
	}
}

// checkDashboard opens the dashboard the banner printed: the grid shows
// the sample app, and the printed operator token logs in.
func checkDashboard(t *testing.T, printed []string) {
	t.Helper()
	base, token := printed[0], printed[1]
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `href="/apps/guestbook`) {
		t.Fatalf("dashboard grid = %d without the guestbook app:\n%s", resp.StatusCode, body)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"name": {"newcomer"}, "token": {token}, "next": {"/apps/guestbook"}})
	if err != nil {
		t.Fatalf("log in to the dashboard: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("login with the printed token = %d, cookies %v; want 303 and a session", resp.StatusCode, resp.Cookies())
	}
}

// checkCLI runs the CLI line the banner printed: with the exported NATS
// URL and admin seed, ferry get apps lists the sample app as synced.
func checkCLI(ctx context.Context, t *testing.T, bin string, env []string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "get", "apps")
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ferry get apps with %v: %v\n%s", env, err, b)
	}
	if !regexp.MustCompile(`(?m)^guestbook\s+local\s+\w{7}\s+Synced`).Match(b) {
		t.Errorf("ferry get apps does not list guestbook as synced in local:\n%s", b)
	}
}
