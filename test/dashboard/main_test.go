// Package dashboard drives Ferry's web dashboard in a real headless
// Chromium against the real pipeline: embedded NATS, a git server, a
// kube-apiserver, ingest, render, an apply worker and the dashboard.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/dashboard/web"
	"github.com/ferrycd/ferry/test/harness"
)

// operatorToken enables the dashboard's actions for a browser that logs in.
const operatorToken = "browser-test-operator-token-0123456789"

var (
	pipe *harness.Pipeline
	kube kubernetes.Interface
	// dashURL serves the dashboard with an operator token; readOnlyURL
	// one without.
	dashURL, readOnlyURL string
	// browser is the context of a running Chromium: each test opens its
	// own tabs from it.
	browser context.Context
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	chromium, err := findChromium()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if os.Getenv("CI") == "true" {
			return 1
		}
		fmt.Fprintln(os.Stderr, "skipping the browser tests outside CI")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// With a tracer, every deploy carries a trace id the pages show.
	shutdown, err := telemetry.Setup(ctx, "ferry-dashboard-test", sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = shutdown(context.Background()) }()

	w, err := harness.StartWithCluster(ctx, "ferry-dashboard-", harness.Config{Cluster: "prod", HealthTimeout: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer w.Close()
	pipe, kube = w.Pipeline, w.Kube

	fc, err := fleet.NewClient(pipe.NC)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dctx, stopDash := context.WithCancel(logging.Into(ctx, logging.Discard()))
	defer stopDash()
	opts := web.DefaultOptions()
	opts.OperatorToken = operatorToken
	stopOperable, err := serve(dctx, fc, opts, &dashURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stopReadOnly, err := serve(dctx, fc, web.DefaultOptions(), &readOnlyURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		stopDash()
		for _, stop := range []func() error{stopOperable, stopReadOnly} {
			if err := stop(); err != nil {
				fmt.Fprintln(os.Stderr, "dashboard stopped with", err)
			}
		}
	}()

	// Chromium runs until its allocator's context is cancelled, which
	// ends the process it started (and only that one).
	allocCtx, stopChromium := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // the tests run as root
		chromedp.WindowSize(1440, 900),
		chromedp.UserDataDir(filepath.Join(pipe.Dir, "chromium")),
	)...)
	defer stopChromium()
	var closeBrowser context.CancelFunc
	browser, closeBrowser = chromedp.NewContext(allocCtx)
	defer closeBrowser()
	if err := chromedp.Do(browser); err != nil { // starts Chromium
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		return 1
	}
	return m.Run()
}

// serve runs a dashboard on a free loopback port, sets *url, and returns
// a function that waits for it to stop once ctx is done.
func serve(ctx context.Context, fc *fleet.Client, opts web.Options, url *string) (func() error, error) {
	srv, err := web.New(fc, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	*url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	stop := func() error { return <-done }
	// Ready once it follows the event streams: pages opened from then on update live.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(*url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		if time.Now().After(deadline) {
			return stop, fmt.Errorf("dashboard %s not ready within 10s", *url)
		}
	}
}

// findChromium returns Debian's chromium binary.
func findChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the browser tests need Chromium: apt-get install -y chromium")
}
