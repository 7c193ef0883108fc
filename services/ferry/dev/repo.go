package dev

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/services/ferry/sample"
)

const sampleRepo = "platform"

// ensureSampleRepo creates the sample repository on first run, or reopens
// it (keeping the user's commits), and installs the post-receive hook that
// turns every push into a signed GitHub-format webhook.
func ensureSampleRepo(ctx context.Context, o Options, srv *gitserver.Server, hookURL, secretFile string) (*gitserver.Repo, error) {
	work := o.path("platform")
	repo := &gitserver.Repo{Name: sampleRepo, URL: srv.RepoURL(sampleRepo),
		BareDir: filepath.Join(srv.Root, sampleRepo+".git"), WorkDir: work, Branch: "main"}
	fresh := false
	if _, err := os.Stat(repo.BareDir); errors.Is(err, os.ErrNotExist) {
		var err error
		if repo, err = srv.NewRepo(ctx, sampleRepo, work); err != nil {
			return nil, fmt.Errorf("create sample repository: %w", err)
		}
		fresh = true
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the ferry binary for the git hook: %w", err)
	}
	hook := fmt.Sprintf("#!/bin/sh\n# Installed by ferry dev: every push becomes a signed webhook to ingest.\nexec %q notify --provider github --url %q --secret-file %q --clone-url %q\n",
		exe, hookURL, secretFile, repo.URL)
	if err := os.WriteFile(filepath.Join(repo.BareDir, "hooks", "post-receive"), []byte(hook), 0o755); err != nil {
		return nil, fmt.Errorf("install post-receive hook: %w", err)
	}
	if fresh {
		files, err := sample.Files(repo.URL)
		if err != nil {
			return nil, fmt.Errorf("read sample files: %w", err)
		}
		if _, err := repo.Commit(ctx, files, "Add the guestbook app"); err != nil {
			return nil, fmt.Errorf("commit sample app: %w", err)
		}
	}
	return repo, nil
}

// ensureSecret returns the webhook secret stored in dir, creating it once.
func ensureSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	s := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write webhook secret: %w", err)
	}
	return s, nil
}
