package source

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
)

// kustomizationFiles are the names kustomize accepts, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func isKustomization(base string) bool {
	for _, n := range kustomizationFiles {
		if base == n {
			return true
		}
	}
	return false
}

// Kustomize builds a kustomization in process with krusty, as
// `kustomize build` would with default options, except that files outside
// the kustomization root may be loaded (as Flux and Argo CD allow): the
// whole repository is visible, nothing outside it is. Remote bases are
// refused with a clear error.
type Kustomize struct{}

// Name is "kustomize".
func (Kustomize) Name() string { return "kustomize" }

// Detect accepts a directory holding a kustomization file.
func (Kustomize) Detect(fsys fs.FS) (bool, error) {
	_, ok, err := marker(fsys, kustomizationFiles)
	return ok, err
}

// Render runs the kustomization at req.Path.
func (Kustomize) Render(ctx context.Context, req Request) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	kfs := &kustomizeFS{fsys: req.Root}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	m, err := krusty.MakeKustomizer(opts).Run(kfs, abs(rel(req.Path)))
	if rerr := kfs.remoteErr(); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		file := kustomizeFile(req, err)
		return nil, &Error{File: file, Err: fmt.Errorf("%s: kustomize build %s: %w", file, req.Path, err)}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, &Error{File: req.Path, Err: fmt.Errorf("kustomize build %s: encode output: %w", req.Path, err)}
	}
	return out, nil
}

// kustomizeFile guesses the file a kustomize error is about: the deepest
// repository path the message names, else the app's kustomization.
func kustomizeFile(req Request, err error) string {
	msg := err.Error()
	best := ""
	for _, f := range strings.FieldsFunc(msg, func(r rune) bool {
		return r == ' ' || r == '\'' || r == '"' || r == ':' || r == ',' || r == '\n' || r == '(' || r == ')' || r == '[' || r == ']'
	}) {
		if !strings.HasPrefix(f, "/") || len(f) < 2 {
			continue
		}
		name := rel(f)
		if info, serr := fs.Stat(req.Root, name); serr == nil && !info.IsDir() && len(name) > len(best) {
			best = name
		}
	}
	if best != "" {
		return best
	}
	dir, derr := req.dir()
	if derr == nil {
		if m, ok, _ := marker(dir, kustomizationFiles); ok {
			return join(req.Path, m)
		}
	}
	return req.Path
}

// kustomizationRefs are the fields of a kustomization that name other
// kustomizations or resources by path or URL.
type kustomizationRefs struct {
	Resources  []string `yaml:"resources"`
	Bases      []string `yaml:"bases"`
	Components []string `yaml:"components"`
}

// remoteReference returns the first resource, base or component of a
// kustomization file that is not a path in the repository.
func remoteReference(data []byte) (string, bool) {
	var k kustomizationRefs
	if err := yaml.Unmarshal(data, &k); err != nil {
		return "", false // kustomize reports the syntax error itself
	}
	for _, list := range [][]string{k.Resources, k.Bases, k.Components} {
		for _, r := range list {
			if isRemote(r) {
				return r, true
			}
		}
	}
	return "", false
}

// isRemote recognises the URL forms kustomize clones or downloads:
// schemes (https://, ssh://, file://), scp-like git@host:, host-prefixed
// github.com/org/repo paths and ?ref= / .git// markers.
func isRemote(r string) bool {
	r = strings.TrimSpace(r)
	switch {
	case strings.Contains(r, "://"), strings.HasPrefix(r, "git@"), strings.HasPrefix(r, "git::"),
		strings.Contains(r, "?ref="), strings.Contains(r, "?version="), strings.Contains(r, ".git//"),
		strings.HasSuffix(r, ".git"):
		return true
	}
	for _, host := range []string{"github.com/", "gitlab.com/", "bitbucket.org/", "dev.azure.com/"} {
		if strings.HasPrefix(r, host) {
			return true
		}
	}
	return false
}
