// Package sample holds the quickstart's sample platform repository: a
// ferry.yaml registering one app, and that app's plain YAML manifests.
package sample

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed files
var files embed.FS

// Files returns the repository's files (path → content) with the registry
// pointing at repoURL.
func Files(repoURL string) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(files, "files", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(path, "files/")] = strings.ReplaceAll(string(data), "{{REPO_URL}}", repoURL)
		return nil
	})
	return out, err
}
