package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
)

// deployMemoryLimit is ingest's memory limit in deploy/kubernetes/ingest.yaml.
const deployMemoryLimit = 256 << 20

// TestJunkBodiesStayUnderMemoryLimit is the attack that took ingest from
// 12 to 414 MiB: it builds the real binary, starts it against an embedded
// NATS on loopback and sends it 100 parallel 25 MiB junk bodies, unsigned,
// with forged signatures (which pass the "signature present" check and
// must be read to be refuted), with and without a Content-Length, and a
// few stating more than the limit. The binary's peak RSS (VmHWM) must stay
// under the deployment's 256 MiB limit, every junk request must be refused
// with 401, 413 or 503, and a signed push sent afterwards is accepted and
// stored.
func TestJunkBodiesStayUnderMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and moves 2.5 GB over loopback")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/status")
	}
	const (
		secret   = "rss-test-secret"
		maxBody  = 25 << 20 // the default --ingest-max-body-bytes
		parallel = 100
	)

	bin := buildIngest(t)
	srv := natsserver.StartForTest(t)
	setUpStreams(t, srv.ClientURL())
	addr := freeAddr(t)
	pid := startIngest(t, bin, addr, srv.ClientURL(), secret)
	base := "http://" + addr
	waitReady(t, base)
	t.Logf("ingest pid %d ready: %s", pid, memStatus(t, pid))

	junk := bytes.Repeat([]byte("junk "), maxBody/5)
	forged := "sha256=" + strings.Repeat("ab", sha256.Size)
	kinds := []struct {
		name   string
		sig    string // X-Hub-Signature-256, "" for none
		length int64  // stated length: len(junk), -1 for chunked, more than allowed
		want   []int
	}{
		{"unsigned", "", int64(len(junk)), []int{401}},
		{"forged signature", forged, int64(len(junk)), []int{401, 503}},
		{"forged signature, chunked", forged, -1, []int{401, 503}},
		{"forged signature, stated length over the limit", forged, maxBody + 1, []int{413}},
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		DisableKeepAlives: true, MaxConnsPerHost: 0, ResponseHeaderTimeout: 2 * time.Minute,
	}}
	t.Cleanup(client.CloseIdleConnections)

	type outcome struct {
		kind   string
		status int
		err    error
	}
	outcomes := make([]outcome, parallel)
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		// 10% unsigned, 5% over the limit, the rest forged, half chunked.
		k := kinds[1+i%2]
		switch {
		case i%10 == 0:
			k = kinds[0]
		case i%20 == 5:
			k = kinds[3]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body io.Reader = bytes.NewReader(junk)
			if k.length == -1 {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, err := http.NewRequest(http.MethodPost, base+"/webhooks/github", body)
			if err != nil {
				outcomes[i] = outcome{k.name, 0, err}
				return
			}
			if k.length > int64(len(junk)) {
				// One byte over: ingest must refuse from the header.
				req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(junk), strings.NewReader("!")))
			}
			req.ContentLength = k.length
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-GitHub-Delivery", "junk-"+strconv.Itoa(i))
			if k.sig != "" {
				req.Header.Set("X-Hub-Signature-256", k.sig)
			}
			resp, err := client.Do(req)
			if err != nil {
				outcomes[i] = outcome{k.name, 0, err}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			outcomes[i] = outcome{k.name, resp.StatusCode, nil}
		}()
	}
	wg.Wait()

	hwm := memStatus(t, pid)
	counts := map[string]int{}
	for i, o := range outcomes {
		counts[fmt.Sprintf("%s: %d", o.kind, o.status)]++
		if o.err != nil {
			t.Errorf("junk %d (%s): %v, want an answer", i, o.kind, o.err)
			continue
		}
		ok := false
		for _, k := range kinds {
			if k.name == o.kind {
				for _, w := range k.want {
					ok = ok || o.status == w
				}
			}
		}
		if !ok {
			t.Errorf("junk %d (%s): status %d", i, o.kind, o.status)
		}
	}
	t.Logf("junk answers: %v", counts)
	t.Logf("after the junk: %s", hwm)
	if peak := vmHWM(t, pid); peak >= deployMemoryLimit {
		t.Errorf("peak RSS %d MiB, over the deployment's limit of %d MiB", peak>>20, deployMemoryLimit>>20)
	} else {
		t.Logf("peak RSS %d MiB under the deployment's limit of %d MiB", peak>>20, deployMemoryLimit>>20)
	}

	// The junk is over: a signed push is accepted and stored.
	body, err := os.ReadFile(filepath.Join("webhook", "testdata", "github-push.json"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "after-the-junk")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed push after the junk: status %d, want 202", resp.StatusCode)
	}
	if n := storedPushes(t, srv.ClientURL()); n != 1 {
		t.Fatalf("FERRY_GIT holds %d messages, want exactly the signed push", n)
	}
}

// buildIngest builds this package's binary into a temporary directory.
func buildIngest(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("no go toolchain to build the ingest binary")
		}
	}
	bin := filepath.Join(t.TempDir(), "ingest")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startIngest starts bin on addr with only a GitHub secret and the
// default body limits, and stops it by its pid when the test ends.
func startIngest(t *testing.T, bin, addr, natsURL, secret string) int {
	t.Helper()
	cmd := exec.Command(bin, "--log-level", "warn")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"FERRY_INGEST_ADDR=" + addr,
		"NATS_URL=" + natsURL,
		"FERRY_GITHUB_SECRET=" + secret,
	}
	if v := os.Getenv("INGEST_RSS_GODEBUG"); v != "" {
		cmd.Env = append(cmd.Env, "GODEBUG="+v) // e.g. gctrace=1, for a look at the heap
	}
	logs, err := os.Create(filepath.Join(t.TempDir(), "ingest.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
		logs.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logs.Name()); err == nil {
				t.Logf("ingest log (last 16 KiB):\n%s", tail(b, 16<<10))
			}
		}
	})
	return pid
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("ingest not ready within 30s")
}

// memStatus returns the VmRSS and VmHWM lines of pid, for the log.
func memStatus(t *testing.T, pid int) string {
	t.Helper()
	var parts []string
	for _, k := range []string{"VmRSS", "VmHWM"} {
		parts = append(parts, fmt.Sprintf("%s %d MiB", k, procStatus(t, pid, k)>>20))
	}
	return strings.Join(parts, ", ")
}

// vmHWM is pid's peak resident set size in bytes.
func vmHWM(t *testing.T, pid int) int64 { return procStatus(t, pid, "VmHWM") }

// procStatus reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatus(t *testing.T, pid int, key string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", key, v, err)
		}
		return kb << 10
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// storedPushes counts the messages in FERRY_GIT.
func storedPushes(t *testing.T, url string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), subject.StreamGit)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// setUpStreams creates Ferry's streams as render does in a deployment:
// ingest waits for FERRY_GIT rather than creating it.
func setUpStreams(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Ensure(t.Context(), js, stream.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
}
