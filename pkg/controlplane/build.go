package controlplane

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// apiServerSource is the wrapper module that builds kube-apiserver (its
// root package), kube-controller-manager and kube-scheduler (under cmd/)
// from the Go module proxy. Its files carry a .txt suffix so that they do
// not form a nested module inside this one.
//
//go:embed apiserver/go.mod.txt apiserver/go.sum.txt apiserver/main.go.txt
//go:embed apiserver/cmd/kube-controller-manager/main.go.txt apiserver/cmd/kube-scheduler/main.go.txt
var apiServerSource embed.FS

// apiServerSourceFiles are the files of apiServerSource, without .txt.
var apiServerSourceFiles = []string{
	"go.mod", "go.sum", "main.go",
	"cmd/kube-controller-manager/main.go", "cmd/kube-scheduler/main.go",
}

// buildProgressInterval is how often a long build prints an elapsed-time line.
const buildProgressInterval = 30 * time.Second

// apiServerName names both the cached binary and its source directory.
const apiServerName = "kube-apiserver-" + KubernetesVersion

// EnsureAPIServer returns the path of a kube-apiserver binary in
// cacheDir/bin, building it first if it is not there. The first build
// compiles Kubernetes from the Go module proxy and takes several minutes;
// progress lines go to progress (nil means silent). A lock file makes
// concurrent callers, in this or other processes, wait for one build.
func EnsureAPIServer(ctx context.Context, cacheDir string, progress io.Writer) (string, error) {
	return ensureKubeBinary(ctx, cacheDir, "kube-apiserver", ".", progress)
}

// ensureKubeBinary returns the path of cacheDir/bin/<name>-<version>,
// building the wrapper module's package pkg into it first if needed. The
// build compiles the same Kubernetes module graph for every component, so
// a second component mostly links.
func ensureKubeBinary(ctx context.Context, cacheDir, name, pkg string, progress io.Writer) (string, error) {
	if progress == nil {
		progress = io.Discard
	}
	if cacheDir == "" {
		return "", fmt.Errorf("ensure %s: empty cache dir", name)
	}
	binDir := filepath.Join(cacheDir, "bin")
	binary := filepath.Join(binDir, name+"-"+KubernetesVersion)
	if isExecutable(binary) {
		return binary, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}

	unlock, err := lockFile(ctx, filepath.Join(binDir, "."+apiServerName+".lock"), func() {
		fmt.Fprintf(progress, "waiting for another process to finish building Kubernetes %s...\n", KubernetesVersion)
	})
	if err != nil {
		return "", fmt.Errorf("lock %s build: %w", name, err)
	}
	defer unlock()
	if isExecutable(binary) { // built while we waited
		return binary, nil
	}
	if err := buildKubeBinary(ctx, cacheDir, name, pkg, binary, progress); err != nil {
		return "", err
	}
	return binary, nil
}

// buildKubeBinary writes the wrapper module to cacheDir/src and builds its
// package pkg into binary, atomically.
func buildKubeBinary(ctx context.Context, cacheDir, name, pkg, binary string, progress io.Writer) error {
	goBin, err := findGo()
	if err != nil {
		return err
	}
	srcDir := filepath.Join(cacheDir, "src", apiServerName)
	if err := writeAPIServerSource(srcDir); err != nil {
		return err
	}

	tmp := fmt.Sprintf("%s.tmp-%d", binary, os.Getpid())
	defer os.Remove(tmp)
	ldflags := strings.Join([]string{
		"-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion,
		"-X k8s.io/component-base/version.gitMajor=" + kubernetesMajor,
		"-X k8s.io/component-base/version.gitMinor=" + kubernetesMinor,
	}, " ")
	cmd := exec.CommandContext(ctx, goBin, "build", "-ldflags", ldflags, "-o", tmp, pkg)
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(),
		"GOWORK=off",
		// -buildvcs=false: the cache dir may sit inside someone's repository.
		"GOFLAGS=-mod=mod -buildvcs=false",
	)
	if apiServerCGO != "" {
		cmd.Env = append(cmd.Env, "CGO_ENABLED="+apiServerCGO)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out

	fmt.Fprintf(progress, "building %s %s from the Go module proxy (first run only, up to ~8 min)...\n", name, KubernetesVersion)
	began := time.Now()
	stopTicker := tickProgress(progress, name, began)
	err = cmd.Run()
	stopTicker()
	if err != nil {
		return fmt.Errorf("build %s in %s: %w\n%s", name, srcDir, err, lastLines(out.String(), 40))
	}
	if err := os.Rename(tmp, binary); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	fmt.Fprintf(progress, "built %s %s in %s: %s\n", name, KubernetesVersion, time.Since(began).Round(time.Second), binary)
	return nil
}

// apiServerCGO, if set, is the CGO_ENABLED of the kube-apiserver build.
// Empty leaves the environment's setting (cgo on where a C compiler exists),
// so the build shares the Go build cache with a plain `go build` of the same
// module: forcing "0" where cgo is on recompiles about 1,500 of its 2,069
// packages (~8 min on 2 cores) instead of only linking. The binary runs on
// the machine that built it, so a static binary buys nothing here.
const apiServerCGO = ""

// kubernetesMajor and kubernetesMinor are the parts of KubernetesVersion
// that /version reports separately.
const (
	kubernetesMajor = "1"
	kubernetesMinor = "37"
)

// writeAPIServerSource writes the embedded wrapper module to dir, dropping
// the .txt suffixes.
func writeAPIServerSource(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create kube-apiserver source dir: %w", err)
	}
	for _, name := range apiServerSourceFiles {
		data, err := apiServerSource.ReadFile("apiserver/" + name + ".txt")
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", name, err)
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write kube-apiserver source: %w", err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write kube-apiserver source: %w", err)
		}
	}
	return nil
}

// tickProgress prints an elapsed-time line every buildProgressInterval
// until the returned function is called.
func tickProgress(w io.Writer, name string, began time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(buildProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "  still building %s (%s elapsed)\n", name, time.Since(began).Round(time.Second))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// findGo returns the go command on PATH, or the one of the toolchain that
// built this program.
func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // deprecated, but the only hint left when go is not on PATH
	if isExecutable(p) {
		return p, nil
	}
	return "", errors.New("building kube-apiserver needs the go command: none on PATH or in GOROOT; install Go or put it on PATH")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
