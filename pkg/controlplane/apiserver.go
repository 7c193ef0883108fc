package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

const (
	// apiServerReadyTimeout bounds how long kube-apiserver may take to
	// report /readyz ok.
	apiServerReadyTimeout = 60 * time.Second
	// logTailBytes is how much of kube-apiserver's log an error quotes.
	logTailBytes = 4 << 10
)

// apiServer is a running kube-apiserver child process.
type apiServer struct {
	*process
	binary, dir, etcdEndpoint string
	port                      int
	host                      string // https://127.0.0.1:port
	creds                     *credentials
}

// startAPIServer starts kube-apiserver against etcdEndpoint with its files in
// dir and waits until /readyz reports ok. A secure port taken between picking
// and binding is retried with another port.
func startAPIServer(ctx context.Context, binary, dir, etcdEndpoint string, log *slog.Logger) (*apiServer, error) {
	creds, err := writeCredentials(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, err
	}
	var errs []error
	for range 3 {
		s, err := startAPIServerOnce(ctx, binary, dir, etcdEndpoint, creds, log)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !isAddrInUse(err) {
			break
		}
	}
	return nil, fmt.Errorf("start kube-apiserver: %w", errors.Join(errs...))
}

func startAPIServerOnce(ctx context.Context, binary, dir, etcdEndpoint string, creds *credentials, log *slog.Logger) (*apiServer, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	port := ports[0]
	s := &apiServer{
		binary: binary, dir: dir, etcdEndpoint: etcdEndpoint, port: port,
		host:  "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		creds: creds,
	}
	return s, s.run(ctx, log)
}

// run starts the kube-apiserver process of s on its port and waits until it
// is ready. Run again after stop, it serves the same address and etcd.
func (s *apiServer) run(ctx context.Context, log *slog.Logger) error {
	p, err := startProcess("kube-apiserver", s.binary, s.dir, apiServerArgs(s.dir, s.etcdEndpoint, s.port, s.creds))
	if err != nil {
		return err
	}
	s.process = p
	log.Debug("kube-apiserver started", "pid", s.pid(), "host", s.host, "log", s.logPath)
	if err := s.waitReady(ctx); err != nil {
		_ = s.stop()
		return fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return nil
}

// apiServerArgs returns the flags of a single-node, loopback-only
// kube-apiserver with static-token admin access.
func apiServerArgs(dir, etcdEndpoint string, port int, c *credentials) []string {
	return []string{
		"--etcd-servers=" + etcdEndpoint,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + c.certFile,
		"--tls-private-key-file=" + c.keyFile,
		"--token-auth-file=" + c.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.saKeyFile,
		"--service-account-signing-key-file=" + c.saKeyFile,
		"--service-cluster-ip-range=10.0.0.0/16",
		// The lease reconciler refuses a loopback advertise address; with
		// no reconciler the "kubernetes" Service simply has no endpoints.
		"--endpoint-reconciler-type=none",
		// No controller-manager creates the "default" service account, so
		// the ServiceAccount admission plugin would reject every pod.
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--allow-privileged=true",
		"--profiling=false",
	}
}

// waitReady polls /readyz until it answers ok, the process exits, the
// timeout passes or ctx ends.
func (s *apiServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, apiServerReadyTimeout)
	defer cancel()
	client := s.httpClient()
	defer client.CloseIdleConnections()

	var last string
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		status, body, err := s.get(ctx, client, "/readyz")
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("status %d: %s", status, lastLines(body, 5))
		}
		select {
		case <-s.exited:
			return fmt.Errorf("kube-apiserver exited before ready: %w", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready (last /readyz: %s): %w", last, ctx.Err())
		case <-tick.C:
		}
	}
}

// get does an authenticated GET of path and returns status and body.
func (s *apiServer) get(ctx context.Context, client *http.Client, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.host+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.creds.adminToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), err
}

func (s *apiServer) httpClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.creds.caPEM)
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}
}

// restConfig returns the admin client configuration.
func (s *apiServer) restConfig() *rest.Config {
	return &rest.Config{
		Host:            s.host,
		BearerToken:     s.creds.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), s.creds.caPEM...)},
		// Tests create many objects quickly; client-go's default 5 QPS
		// would make them slow for no benefit on a private server.
		QPS:   200,
		Burst: 400,
	}
}
