package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	loaderv2 "helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"
	ri "helm.sh/helm/v4/pkg/release"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"

	"github.com/ferrycd/ferry/pkg/registry"
)

// Helm renders a chart in process, as `helm template` does: client only,
// release name = app name, namespace = destination namespace, the chart's
// values.yaml, then the destination's value files in order, then its
// inline values. Dependencies must be vendored under charts/; Ferry does
// not download charts. Hooks are not rendered: Ferry applies the release
// manifest with server-side apply and has no hook lifecycle.
type Helm struct{}

// Name is "helm".
func (Helm) Name() string { return "helm" }

// Detect accepts a directory holding Chart.yaml.
func (Helm) Detect(fsys fs.FS) (bool, error) {
	_, ok, err := marker(fsys, []string{"Chart.yaml"})
	return ok, err
}

// Render templates the chart at req.Path.
func (Helm) Render(ctx context.Context, req Request) ([]byte, error) {
	dir, err := req.dir()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", req.Path, err)
	}
	chrt, err := loadChart(dir, req.Path)
	if err != nil {
		return nil, err
	}
	if err := checkVendored(chrt, req.Path); err != nil {
		return nil, err
	}
	vals, err := helmValues(req)
	if err != nil {
		return nil, err
	}
	kv, err := kubeVersion(req.KubeVersion)
	if err != nil {
		return nil, &Error{File: join(req.Path, "Chart.yaml"), Err: err}
	}
	cfg := action.NewConfiguration()
	// Helm logs values and manifests at debug level: keep them out of Ferry's logs.
	cfg.SetLogger(slog.DiscardHandler)
	inst := action.NewInstall(cfg)
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName = req.Name
	inst.Namespace = req.Namespace
	if inst.Namespace == "" {
		inst.Namespace = "default"
	}
	inst.Replace = true
	inst.IncludeCRDs = true
	inst.DisableHooks = true
	inst.KubeVersion = kv
	out, err := templateWithin(ctx, req.limits.HelmTimeout, req.Path, func(ctx context.Context) (ri.Releaser, error) {
		return inst.RunWithContext(ctx, chrt, vals)
	})
	var se *Error
	if errors.As(err, &se) {
		return nil, err
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{File: helmFile(req.Path, err), Err: fmt.Errorf("helm template %s: %w", req.Path, err)}
	}
	rel, ok := out.(*releasev1.Release)
	if !ok {
		return nil, fmt.Errorf("helm template %s: unexpected release type %T", req.Path, out)
	}
	return []byte(rel.Manifest), nil
}

// loadChart reads every file of the chart directory not excluded by
// .helmignore and loads them as helm's directory loader would.
func loadChart(dir fs.FS, appPath string) (*chartv2.Chart, error) {
	rules := ignore.Empty()
	if data, err := fs.ReadFile(dir, ignore.HelmIgnore); err == nil {
		if rules, err = ignore.Parse(strings.NewReader(string(data))); err != nil {
			return nil, &Error{File: join(appPath, ignore.HelmIgnore), Err: fmt.Errorf("%s: %w", join(appPath, ignore.HelmIgnore), err)}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", join(appPath, ignore.HelmIgnore), err)
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	var total int64
	err := fs.WalkDir(dir, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if rules.Ignore(name, info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return &Error{File: join(appPath, name), Err: fmt.Errorf("%s: cannot load a chart file that is not a regular file", join(appPath, name))}
		}
		data, err := fs.ReadFile(dir, name)
		if err != nil {
			return err
		}
		if total += int64(len(data)); total > archive.MaxDecompressedChartSize {
			return &Error{File: appPath, Err: fmt.Errorf("%s: chart is larger than %d bytes", appPath, archive.MaxDecompressedChartSize)}
		}
		files = append(files, &archive.BufferedFile{Name: name, Data: []byte(strings.TrimPrefix(string(data), "\ufeff"))})
		return nil
	})
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("read chart %s: %w", appPath, err)
	}
	chrt, err := loaderv2.LoadFiles(files)
	if err != nil {
		file := join(appPath, "Chart.yaml")
		return nil, &Error{File: file, Err: fmt.Errorf("%s: load chart: %w", file, err)}
	}
	return chrt, nil
}

// checkVendored fails when Chart.yaml names a dependency that charts/
// does not hold: rendering it would need a download.
func checkVendored(chrt *chartv2.Chart, appPath string) error {
	have := map[string]bool{}
	for _, d := range chrt.Dependencies() {
		have[d.Name()] = true
	}
	var missing []string
	for _, d := range chrt.Metadata.Dependencies {
		if !have[d.Name] {
			missing = append(missing, fmt.Sprintf("%s %s from %s", d.Name, d.Version, d.Repository))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	file := join(appPath, "Chart.yaml")
	return &Error{File: file, Err: fmt.Errorf("%s: dependency %s is not vendored under charts/ and would need a download; run `helm dependency build` and commit charts/",
		file, strings.Join(missing, ", "))}
}

// helmValues merges the destination's value files, in order, and its
// inline values. Files are relative to the chart directory.
func helmValues(req Request) (map[string]any, error) {
	vals := map[string]any{}
	for _, v := range req.Values {
		name := path.Join(req.Path, v)
		data, err := fs.ReadFile(req.Root, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: name, Err: fmt.Errorf("%s: values file does not exist", name)}
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		m, err := loaderv2.LoadValues(strings.NewReader(string(data)))
		if err != nil {
			return nil, &Error{File: name, Err: fmt.Errorf("%s: %w", name, err)}
		}
		vals = loaderv2.MergeMaps(vals, m)
	}
	if len(req.ValuesObject) > 0 {
		vals = loaderv2.MergeMaps(vals, req.ValuesObject)
	}
	return vals, nil
}

// kubeVersion parses "1.37", "v1.37" or "v1.37.2" for .Capabilities.
// A version without a patch level gets ".0".
func kubeVersion(v string) (*common.KubeVersion, error) {
	if v == "" {
		v = registry.DefaultKubeVersion
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if strings.Count(v, ".") == 1 {
		v += ".0" // "v1.37" → "v1.37.0", as a cluster reports it
	}
	kv, err := common.ParseKubeVersion(v)
	if err != nil {
		return nil, fmt.Errorf("kubernetes version %q: %w", v, err)
	}
	return kv, nil
}

// helmTemplatePath finds "<chart>/templates/<file>" (or a subchart's,
// "<chart>/charts/<sub>/templates/<file>") in a helm error.
var helmTemplatePath = regexp.MustCompile(`[A-Za-z0-9_.-]+/((?:charts/[A-Za-z0-9_.-]+/)*templates/[^\s:)"']+)`)

// helmFile names the template a helm error is about, relative to the
// repository root, else the chart's Chart.yaml.
func helmFile(appPath string, err error) string {
	if m := helmTemplatePath.FindStringSubmatch(err.Error()); m != nil {
		return join(appPath, m[1])
	}
	return join(appPath, "Chart.yaml")
}

// templateWithin runs template, helm's templating of the chart at
// appPath, and gives up after timeout (none when zero or negative) with
// an *Error holding a *LimitError. Helm's template engine does not watch
// its context, so a chart that loops for long cannot be stopped: the
// goroutine running it is abandoned and lingers, using CPU and memory,
// until the template ends.
func templateWithin(ctx context.Context, timeout time.Duration, appPath string, template func(context.Context) (ri.Releaser, error)) (ri.Releaser, error) {
	if timeout <= 0 {
		return template(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		rel ri.Releaser
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned run still ends
	go func() {
		rel, err := template(tctx)
		done <- result{rel, err}
	}()
	// tctx ends only by its deadline or by ctx: a template that finished
	// first is its own result, whatever it returned. (Cancelling tctx in
	// the goroutine when it ended made both cases ready at once, and
	// select picked the deadline's half the time.)
	select {
	case r := <-done:
		if r.err == nil || !errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return r.rel, r.err
		}
	case <-tctx.Done():
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, overLimit(join(appPath, "Chart.yaml"), "helm's templating of "+appPath, "longer than "+timeout.String(),
		timeout.String(), FlagHelmTimeout)
}
