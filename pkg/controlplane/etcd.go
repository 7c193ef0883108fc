package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// etcdReadyTimeout bounds how long an embedded etcd may take to serve.
const etcdReadyTimeout = 30 * time.Second

// etcdServer is an embedded single-member etcd serving on loopback.
type etcdServer struct {
	etcd     *embed.Etcd
	endpoint string   // http://127.0.0.1:port
	logFile  *os.File // etcd's own log, warnings and up
}

// startEtcd starts an embedded etcd with its data in dataDir and its log in
// logPath, and waits until it serves clients. A port taken between picking
// and binding is retried.
func startEtcd(ctx context.Context, dataDir, logPath string) (*etcdServer, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd dir: %w", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create etcd log: %w", err)
	}
	// etcd logs errors while it shuts down normally; keep them out of test
	// output but at hand in the working directory.
	logger := zap.New(zapcore.NewCore(
		zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(logFile), zapcore.WarnLevel))
	var errs []error
	for range 3 {
		s, err := startEtcdOnce(ctx, dataDir, logger)
		if err == nil {
			s.logFile = logFile
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !isAddrInUse(err) {
			break
		}
	}
	logFile.Close()
	return nil, fmt.Errorf("start etcd (log %s): %w", logPath, errors.Join(errs...))
}

func startEtcdOnce(ctx context.Context, dataDir string, logger *zap.Logger) (*etcdServer, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	clientURL := loopbackURL(ports[0])
	peerURL := loopbackURL(ports[1])

	cfg := embed.NewConfig()
	cfg.Name = "ferry"
	cfg.Dir = dataDir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	// A throw-away test cluster: durability does not matter, speed does.
	cfg.UnsafeNoFsync = true

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(etcdReadyTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return &etcdServer{etcd: e, endpoint: clientURL.String()}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd failed before ready: %w", err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("etcd not ready after %s", etcdReadyTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("wait for etcd: %w", ctx.Err())
	}
}

// close stops etcd, waits for its goroutines and listeners to end, and
// closes its log.
func (s *etcdServer) close() {
	s.etcd.Close()
	_ = s.logFile.Sync()
	s.logFile.Close()
}

func loopbackURL(port int) url.URL {
	return url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment
// ago. All are held open together so that they differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// isAddrInUse reports whether err says a listen address was taken, even when
// a library flattened the error into text.
func isAddrInUse(err error) bool {
	return err != nil && (errors.Is(err, syscall.EADDRINUSE) ||
		strings.Contains(err.Error(), "address already in use"))
}
