package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a child process of the control plane (kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok) with its output in
// dir/<name>.log. It is stopped by its PID only.
type process struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid after exited is closed
	logPath string
	logFile *os.File

	stopOnce sync.Once
	stopErr  error
}

// startProcess runs binary with args in dir, its output appended to
// dir/<name>.log.
func startProcess(name, binary, dir string, args []string) (*process, error) {
	p := &process{name: name, exited: make(chan struct{}), logPath: filepath.Join(dir, name+".log")}
	var err error
	p.logFile, err = os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = p.logFile
	p.cmd.Stderr = p.logFile
	if err := p.start(); err != nil {
		p.logFile.Close()
		return nil, fmt.Errorf("run %s: %w", binary, err)
	}
	return p, nil
}

// stopGrace is how long stop waits after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// start starts the process so that the kernel kills it if this process dies
// (on Linux), and reaps it in the background.
func (s *process) start() error {
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

func (s *process) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM to the process, waits up to stopGrace, then
// sends SIGKILL and waits for it to be reaped. It is safe to call more
// than once.
func (s *process) stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("signal %s (pid %d): %w", s.name, s.pid(), err)
		}
		timer := time.NewTimer(stopGrace)
		defer timer.Stop()
		select {
		case <-s.exited:
			return
		case <-timer.C:
		}
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("kill %s (pid %d): %w", s.name, s.pid(), err)
		}
		<-s.exited
	})
	return s.stopErr
}

// logTail returns the end of the process's log for error messages.
func (s *process) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no %s log: %v)", s.name, err)
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
