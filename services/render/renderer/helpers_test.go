package renderer

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/natsserver"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// env is one embedded NATS server, one git server and a running render.
type env struct {
	t        testing.TB
	ctx      context.Context
	js       jetstream.JetStream
	git      *gitserver.Server
	cacheDir string
	pushes   atomic.Int64
	r        atomic.Pointer[renderer]
	logs     *syncBuffer // everything render logged, at debug level
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counters returns what the running renderer did so far.
func (e *env) counters() Counters {
	e.t.Helper()
	r := e.r.Load()
	if r == nil {
		e.t.Fatal("renderer not started")
	}
	return r.state.counters()
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	srv := natsserver.StartForTest(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	var w io.Writer = logs
	if testing.Verbose() {
		w = io.MultiWriter(logs, os.Stderr)
	}
	logger, err := logging.New(w, logging.Options{Level: "debug", Format: "text"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := logging.Into(context.Background(), logger)
	if err := stream.Ensure(ctx, js, stream.Options{Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	gs, err := gitserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gs.Close() })
	e := &env{t: t, ctx: ctx, js: js, git: gs, cacheDir: t.TempDir(), logs: logs}
	// Every repository on the test git server is a platform repository
	// unless the test names its own; a name without a scheme is a
	// repository on the test server.
	if len(opts.PlatformRepos) == 0 {
		opts.PlatformRepos = []string{gs.URL + "/*"}
	}
	for i, p := range opts.PlatformRepos {
		if !strings.Contains(p, "://") {
			opts.PlatformRepos[i] = gs.RepoURL(p)
		}
	}
	opts.started = func(r *renderer) { e.r.Store(r) }
	if opts.CacheDir == "" {
		opts.CacheDir = e.cacheDir
	}
	e.cacheDir = opts.CacheDir
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, js, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil on shutdown", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return within 20s of cancel")
		}
	})
	return e
}

func (e *env) repo(name string) *gitserver.Repo {
	e.t.Helper()
	r, err := e.git.NewRepo(e.ctx, name, filepath.Join(e.t.TempDir(), name))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// commit commits and pushes files, then publishes the push event as
// ingest would, and returns the commit id and the event.
func (e *env) commit(r *gitserver.Repo, files map[string]string) (string, *ferryv1.PushEvent) {
	e.t.Helper()
	sha, err := r.CommitAndPush(e.ctx, files, "change")
	if err != nil {
		e.t.Fatal(err)
	}
	return sha, e.publishPush(r.URL, "refs/heads/"+r.Branch, sha)
}

func (e *env) publishPush(url, ref, after string) *ferryv1.PushEvent {
	e.t.Helper()
	return e.publishPushFrom(url, ref, "", after)
}

// publishPushFrom publishes a push from before to after, as ingest would.
func (e *env) publishPushFrom(url, ref, before, after string) *ferryv1.PushEvent {
	e.t.Helper()
	ev := &ferryv1.PushEvent{
		Id: fmt.Sprintf("delivery-%d", e.pushes.Add(1)), Provider: "gitea", RepoKey: subject.RepoKey(url),
		CloneUrl: url, Ref: ref, Before: before, After: after, ReceivedUnixNano: time.Now().UnixNano(),
	}
	e.publish(ev)
	return ev
}

func (e *env) publish(ev *ferryv1.PushEvent) {
	e.t.Helper()
	if _, err := events.Publish(e.ctx, e.js, subject.GitPush(ev.GetRepoKey()), ev, ev.GetId()); err != nil {
		e.t.Fatal(err)
	}
}

// last returns the newest message on subj decoded into m, or false.
func (e *env) last(streamName, subj string, m proto.Message) bool {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, streamName)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := s.GetLastMsgForSubject(e.ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if err := proto.Unmarshal(raw.Data, m); err != nil {
		e.t.Fatal(err)
	}
	return true
}

// count returns how many messages streamName holds on subj.
func (e *env) count(streamName, subj string) uint64 {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, streamName)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

// waitDesired waits for the desired state of cluster/app at rev.
func (e *env) waitDesired(cluster, app, rev string) *ferryv1.DesiredState {
	e.t.Helper()
	var ds ferryv1.DesiredState
	e.eventually(fmt.Sprintf("desired state %s/%s@%s", cluster, app, rev), func() bool {
		return e.last(subject.StreamDesired, subject.Desired(cluster, app), &ds) && ds.GetRevision() == rev
	})
	return &ds
}

// waitStatus waits for a sync result of cluster/app at rev.
func (e *env) waitStatus(cluster, app, rev string) *ferryv1.SyncResult {
	e.t.Helper()
	var res ferryv1.SyncResult
	e.eventually(fmt.Sprintf("status %s/%s@%s", cluster, app, rev), func() bool {
		return e.last(subject.StreamStatus, subject.Status(cluster, app), &res) && res.GetRevision() == rev
	})
	return &res
}

// waitSettled waits until render has acked or terminated every push.
func (e *env) waitSettled() {
	e.t.Helper()
	e.eventually("every push settled", func() bool {
		info := e.consumerInfo()
		return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 &&
			info.AckFloor.Stream == uint64(e.pushes.Load())
	})
}

func (e *env) consumerInfo() *jetstream.ConsumerInfo {
	e.t.Helper()
	c, err := e.js.Consumer(e.ctx, subject.StreamGit, ConsumerName)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := c.Info(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return info
}

func (e *env) eventually(what string, ok func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kvApps returns the app names in the registry bucket.
func (e *env) kvApps() []string {
	e.t.Helper()
	kv, err := e.js.KeyValue(e.ctx, subject.BucketApps)
	if err != nil {
		e.t.Fatal(err)
	}
	keys, err := kv.ListKeys(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for k := range keys.Keys() {
		out = append(out, k)
	}
	return out
}

func configMap(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  key: " + name + "\n"
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

func platformYAML(apps ...string) string {
	return "apps:\n" + strings.Join(apps, "")
}

// gitOut runs git in dir.
func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// lastRevision returns the revision of cluster/app's newest desired state.
func (e *env) lastRevision(cluster, app string) string {
	e.t.Helper()
	var ds ferryv1.DesiredState
	if !e.last(subject.StreamDesired, subject.Desired(cluster, app), &ds) {
		return ""
	}
	return ds.GetRevision()
}
