package controlplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

const (
	// apiServerReadyTimeout bounds how long kube-apiserver may take to
	// report /readyz ok.
	apiServerReadyTimeout = 60 * time.Second
	// apiServerStopGrace is how long Stop waits after SIGTERM before SIGKILL.
	apiServerStopGrace = 10 * time.Second
	// logTailBytes is how much of kube-apiserver's log an error quotes.
	logTailBytes = 4 << 10
)

// apiServer is a running kube-apiserver child process.
type apiServer struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid after exited is closed
	logPath string
	logFile *os.File
	host    string // https://127.0.0.1:port
	creds   *credentials

	stopOnce sync.Once
	stopErr  error
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
		exited:  make(chan struct{}),
		logPath: filepath.Join(dir, "kube-apiserver.log"),
		host:    "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		creds:   creds,
	}
	s.logFile, err = os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create kube-apiserver log: %w", err)
	}

	s.cmd = exec.Command(binary, apiServerArgs(dir, etcdEndpoint, port, creds)...)
	s.cmd.Dir = dir
	s.cmd.Stdout = s.logFile
	s.cmd.Stderr = s.logFile
	if err := s.start(); err != nil {
		s.logFile.Close()
		return nil, fmt.Errorf("run %s: %w", binary, err)
	}
	log.Debug("kube-apiserver started", "pid", s.pid(), "host", s.host, "log", s.logPath)

	if err := s.waitReady(ctx); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return s, nil
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
		"--service-cluster-ip-range=10.0.0.0/24",
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

// start starts the process so that the kernel kills it if this process dies
// (on Linux), and reaps it in the background.
func (s *apiServer) start() error {
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that forked the
		// child exits, so keep this goroutine on its thread while the child
		// lives.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		setParentDeathSignal(s.cmd)
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		s.logFile.Close()
		close(s.exited)
	}()
	return <-started
}

func (s *apiServer) pid() int { return s.cmd.Process.Pid }

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

// stop sends SIGTERM to the process, waits up to apiServerStopGrace, then
// sends SIGKILL and waits for it to be reaped.
func (s *apiServer) stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("signal kube-apiserver (pid %d): %w", s.pid(), err)
		}
		timer := time.NewTimer(apiServerStopGrace)
		defer timer.Stop()
		select {
		case <-s.exited:
			return
		case <-timer.C:
		}
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("kill kube-apiserver (pid %d): %w", s.pid(), err)
		}
		<-s.exited
	})
	return s.stopErr
}

// logTail returns the end of kube-apiserver's log for error messages.
func (s *apiServer) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no kube-apiserver log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > logTailBytes {
		_, _ = f.Seek(-logTailBytes, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	tail := lastLines(string(bytes.TrimSpace(b)), 20)
	// klog error lines start with E and the date, e.g. "E1122 07:57:03".
	var errs []string
	for line := range strings.Lines(string(b)) {
		if len(line) > 1 && line[0] == 'E' && line[1] >= '0' && line[1] <= '9' && !strings.Contains(tail, strings.TrimSpace(line)) {
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	if len(errs) > 10 {
		errs = errs[len(errs)-10:]
	}
	if len(errs) > 0 {
		tail = strings.Join(errs, "\n") + "\n...\n" + tail
	}
	return fmt.Sprintf("--- end of %s ---\n%s", s.logPath, tail)
}

// lastLines returns at most n trailing lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
