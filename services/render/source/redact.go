package source

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted replaces a secret value in messages.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest value redacted by content: shorter values
// ("a", "true") would mangle messages and reveal little.
const minSecretLen = 4

// secretKey matches keys whose values are treated as secrets wherever
// they appear (Helm values, generator literals, any YAML).
var secretKey = regexp.MustCompile(`(?i)(pass(word|wd|phrase)|secret|token|api[-_]?key|private[-_]?key|credential)`)

// secretAssignment catches "password: x" / "token=x" echoed by a tool for
// values no file declared (e.g. a template building one).
var secretAssignment = regexp.MustCompile(`(?i)((?:pass(?:word|wd|phrase)|secret|token|api[-_]?key|private[-_]?key|credentials?)["']?\s*[:=]\s*["']?)([^\s"',}\]]+)`)

// Redactor hides secret values in error messages. The zero value only
// applies the key=value pattern; Add and Collect teach it values.
type Redactor struct {
	values map[string]bool
}

// Add registers secret values.
func (r *Redactor) Add(values ...string) {
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minSecretLen {
			continue
		}
		if r.values == nil {
			r.values = map[string]bool{}
		}
		r.values[v] = true
		// Tools echo multi-line values line by line.
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= minSecretLen {
				r.values[line] = true
			}
		}
	}
}

// Redact returns msg with every registered value and every secret-looking
// assignment replaced by Redacted.
func (r *Redactor) Redact(msg string) string {
	if len(r.values) > 0 {
		vals := make([]string, 0, len(r.values))
		for v := range r.values {
			vals = append(vals, v)
		}
		// Longest first, so a value containing another is replaced whole.
		sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
		for _, v := range vals {
			msg = strings.ReplaceAll(msg, v, Redacted)
		}
	}
	return secretAssignment.ReplaceAllString(msg, "${1}"+Redacted)
}

// Decoding YAML costs many times its size, so Collect learns from files
// of at most maxCollectFile bytes and at most maxCollectTotal bytes in
// all: a commit whose render failed must not exhaust render's memory in
// the redaction of its error. A Secret larger than maxCollectFile could
// not be applied anyway (the API server takes at most 1 MiB of Secret
// data); a secret in a larger file is still hidden where it appears as
// key: value.
const (
	maxCollectFile  = 4 << 20
	maxCollectTotal = 32 << 20
)

// Collect learns the secrets a render may have seen: in every file of
// paths (relative to root) that was read, the data and stringData of
// Secrets (raw and base64-decoded), values under secret-looking keys,
// secretGenerator literals and env files of kustomizations.
func (r *Redactor) Collect(root fs.FS, paths map[string]Access) {
	var total int
	names := make([]string, 0, len(paths))
	for p, a := range paths {
		if a&Read != 0 {
			names = append(names, p)
		}
	}
	sort.Strings(names) // the same files are learned from every time
	for _, p := range names {
		data, err := fs.ReadFile(root, p)
		if err != nil || len(data) > maxCollectFile || total+len(data) > maxCollectTotal {
			continue
		}
		total += len(data)
		r.CollectYAML(data)
		if isKustomization(path.Base(p)) {
			r.collectGenerators(root, path.Dir(p), data)
		}
	}
}

// CollectYAML learns the secrets in a (multi-document) YAML or JSON stream.
func (r *Redactor) CollectYAML(data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return // end of stream, or not YAML: nothing more to learn
		}
		m, ok := doc.(map[string]any)
		if ok && m["kind"] == "Secret" {
			for _, field := range []string{"data", "stringData"} {
				if vals, ok := m[field].(map[string]any); ok {
					for _, v := range vals {
						r.addSecretValue(v)
					}
				}
			}
		}
		r.walk(doc, "")
	}
}

// walk adds the string leaves under secret-looking keys.
func (r *Redactor) walk(node any, key string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			r.walk(v, k)
		}
	case []any:
		for _, v := range n {
			r.walk(v, key)
		}
	case string:
		if key != "" && secretKey.MatchString(key) {
			r.addSecretValue(n)
		}
	}
}

func (r *Redactor) addSecretValue(v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	r.Add(s)
	if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); err == nil {
		r.Add(string(dec))
	}
}

// generators is the part of a kustomization that carries secret material.
type generators struct {
	SecretGenerator []struct {
		Literals []string `yaml:"literals"`
		Envs     []string `yaml:"envs"`
		Env      string   `yaml:"env"`
		Files    []string `yaml:"files"`
	} `yaml:"secretGenerator"`
}

func (r *Redactor) collectGenerators(root fs.FS, dir string, data []byte) {
	var g generators
	if err := yaml.Unmarshal(data, &g); err != nil {
		return
	}
	for _, s := range g.SecretGenerator {
		for _, l := range s.Literals {
			if _, v, ok := strings.Cut(l, "="); ok {
				r.Add(strings.Trim(v, `"'`))
			}
		}
		envs := s.Envs
		if s.Env != "" {
			envs = append(envs, s.Env)
		}
		for _, e := range envs {
			content, err := fs.ReadFile(root, path.Join(dir, e))
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(bytes.NewReader(content))
			for sc.Scan() {
				if _, v, ok := strings.Cut(sc.Text(), "="); ok {
					r.Add(strings.Trim(v, `"'`))
				}
			}
		}
		for _, f := range s.Files {
			if _, src, ok := strings.Cut(f, "="); ok {
				f = src
			}
			if content, err := fs.ReadFile(root, path.Join(dir, f)); err == nil && len(content) < 64<<10 {
				r.Add(string(content))
			}
		}
	}
}
