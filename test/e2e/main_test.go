// Package e2e drives the whole pipeline against real components: signed
// webhooks over HTTP, git over smart HTTP, JetStream, and a kube-apiserver.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/pkg/telemetry"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	slack = newSlackServer()
	pipe  *harness.Pipeline
	kube  kubernetes.Interface
	dyn   dynamic.Interface
	spans = tracetest.NewInMemoryExporter()
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	shutdown, err := telemetry.Setup(ctx, "ferry-e2e", sdktrace.NewSimpleSpanProcessor(spans))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = shutdown(context.Background()) }()

	defer slack.Close()
	drift, err := config.Parse([]byte(`routes:
  - name: ops
    slack: {webhookURL: "` + slack.URL + `/services/T000/B000/XXXX"}
`))
	if err != nil {
		fmt.Fprintln(os.Stderr, "drift config:", err)
		return 1
	}
	w, err := harness.StartWithCluster(ctx, "ferry-e2e-", harness.Config{Cluster: "e2e", HealthTimeout: time.Second, Drift: drift})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer w.Close()
	pipe, kube = w.Pipeline, w.Kube
	dyn = dynamic.NewForConfigOrDie(w.ControlPlane.RESTConfig())
	return m.Run()
}
