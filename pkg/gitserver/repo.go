package gitserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Repo is a bare repository served by a Server plus a working clone that
// commits and pushes to it with the git CLI.
type Repo struct {
	// Name of the repository; it is served as Name.git.
	Name string
	// URL clones the repository over HTTP.
	URL string
	// BareDir is the bare repository on disk.
	BareDir string
	// WorkDir is the working clone.
	WorkDir string
	// Branch commits go to.
	Branch string
}

// NewRepo creates an empty bare repository name.git under s.Root and a
// working clone in workDir on branch main.
func (s *Server) NewRepo(ctx context.Context, name, workDir string) (*Repo, error) {
	r := &Repo{Name: name, URL: s.RepoURL(name), BareDir: filepath.Join(s.Root, name+".git"), WorkDir: workDir, Branch: "main"}
	if err := run(ctx, "", "git", "init", "--quiet", "--bare", "--initial-branch=main", r.BareDir); err != nil {
		return nil, err
	}
	// http-backend refuses pushes unless receive-pack is enabled.
	if err := run(ctx, r.BareDir, "git", "config", "http.receivepack", "true"); err != nil {
		return nil, err
	}
	if err := run(ctx, "", "git", "init", "--quiet", "--initial-branch=main", workDir); err != nil {
		return nil, err
	}
	// Track origin/main so a plain `git push` works in the working clone.
	for _, kv := range [][2]string{{"user.name", "Ferry Dev"}, {"user.email", "dev@ferry.local"}, {"commit.gpgsign", "false"},
		{"branch.main.remote", "origin"}, {"branch.main.merge", "refs/heads/main"}} {
		if err := run(ctx, workDir, "git", "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if err := run(ctx, workDir, "git", "remote", "add", "origin", r.URL); err != nil {
		return nil, err
	}
	return r, nil
}

// Commit writes files (path → content; an empty content deletes the path),
// commits them with msg on the current branch and returns the commit id.
// It does not push.
func (r *Repo) Commit(ctx context.Context, files map[string]string, msg string) (string, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(r.WorkDir, filepath.FromSlash(p))
		if files[p] == "" {
			if err := os.RemoveAll(full); err != nil {
				return "", fmt.Errorf("remove %s: %w", p, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", fmt.Errorf("mkdir for %s: %w", p, err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err := run(ctx, r.WorkDir, "git", "add", "-A"); err != nil {
		return "", err
	}
	if err := run(ctx, r.WorkDir, "git", "commit", "--quiet", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// Head returns the commit id of the working clone's HEAD.
func (r *Repo) Head(ctx context.Context) (string, error) {
	out, err := output(ctx, r.WorkDir, "git", "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// Push pushes the current branch to the served repository over HTTP.
func (r *Repo) Push(ctx context.Context) error {
	return run(ctx, r.WorkDir, "git", "push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+r.Branch)
}

// CommitAndPush is Commit followed by Push.
func (r *Repo) CommitAndPush(ctx context.Context, files map[string]string, msg string) (string, error) {
	sha, err := r.Commit(ctx, files, msg)
	if err != nil {
		return "", err
	}
	return sha, r.Push(ctx)
}

func run(ctx context.Context, dir string, name string, args ...string) error {
	_, err := output(ctx, dir, name, args...)
	return err
}

func output(ctx context.Context, dir string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
