package controlplane

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/client-go/rest"
)

// defaultNamespaceTimeout bounds the wait for kube-apiserver's bootstrap
// controller to create the "default" namespace.
const defaultNamespaceTimeout = 30 * time.Second

// writeKubeconfig writes an admin kubeconfig for cfg to path. The context is
// named "ferry-dev".
func writeKubeconfig(path string, cfg *rest.Config) error {
	const tmpl = `apiVersion: v1
kind: Config
clusters:
- name: ferry-dev
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: ferry-admin
  user:
    token: %s
contexts:
- name: ferry-dev
  context:
    cluster: ferry-dev
    user: ferry-admin
    namespace: default
current-context: ferry-dev
`
	data := fmt.Sprintf(tmpl, cfg.Host, base64.StdEncoding.EncodeToString(cfg.CAData), cfg.BearerToken)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// waitForDefaultNamespace polls until the "default" namespace exists.
func waitForDefaultNamespace(ctx context.Context, cfg *rest.Config) error {
	ctx, cancel := context.WithTimeout(ctx, defaultNamespaceTimeout)
	defer cancel()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("build http client: %w", err)
	}
	defer client.CloseIdleConnections()

	var last string
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+"/api/v1/namespaces/default", nil)
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for namespace default (last: %s): %w", last, ctx.Err())
		case <-tick.C:
		}
	}
}
