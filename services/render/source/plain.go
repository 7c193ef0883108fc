package source

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ferrycd/ferry/pkg/manifest"
	"github.com/ferrycd/ferry/pkg/registry"
)

// Plain renders every *.yaml, *.yml and *.json file under the app
// directory, recursively, in path order. Hidden files and directories
// (".github", ".env.yaml") are skipped, and so is the registry file
// ferry.yaml when the app sits at the repository root. Every file is
// validated on its own, so an error names the file it comes from.
type Plain struct{}

// Name is "plain".
func (Plain) Name() string { return "plain" }

// Detect accepts any directory.
func (Plain) Detect(fs.FS) (bool, error) { return true, nil }

// Render joins the files with manifest.Join (a file without a trailing
// newline is safe).
func (Plain) Render(ctx context.Context, req Request) ([]byte, error) {
	dir, err := req.dir()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", req.Path, err)
	}
	var files []string
	err = fs.WalkDir(dir, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isManifest(p) && !(p == registry.FileName && isRoot(req.Path)) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", req.Path, err)
	}
	sort.Strings(files)
	docs := make([][]byte, 0, len(files))
	var size int64 // of the output so far
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := fs.ReadFile(dir, f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", join(req.Path, f), err)
		}
		name := join(req.Path, f)
		doc := trimSeparators(data)
		// Stop before parsing what cannot be published anyway: parsing
		// costs several times the bytes parsed.
		size += joinedSize(size, doc)
		if max := req.limits.MaxRenderedBytes; max > 0 && size > max {
			return nil, overLimit(name, "the rendered output of "+req.Path+" (at "+name+")", "at least "+sizeOf(size),
				sizeOf(max), FlagMaxRenderedBytes)
		}
		if _, err := manifest.Parse(name, data); err != nil {
			return nil, &Error{File: name, Err: err}
		}
		docs = append(docs, doc)
	}
	return manifest.Join(docs...), nil
}

// joinedSize is how much doc adds to the output of manifest.Join after
// size bytes: the document, its newline and, after another, a separator.
func joinedSize(size int64, doc []byte) int64 {
	switch {
	case len(doc) == 0:
		return 0
	case size == 0:
		return int64(len(doc)) + 1
	default:
		return int64(len("---\n")) + int64(len(doc)) + 1
	}
}

// trimSeparators drops "---" lines at the start and end of a file, so
// joining files yields no empty documents.
func trimSeparators(d []byte) []byte {
	for {
		d = bytes.TrimSpace(d)
		switch {
		case bytes.Equal(d, []byte("---")):
			return nil
		case bytes.HasPrefix(d, []byte("---\n")), bytes.HasPrefix(d, []byte("---\r\n")):
			d = d[bytes.IndexByte(d, '\n')+1:]
		case bytes.HasSuffix(d, []byte("\n---")):
			d = d[:len(d)-len("---")]
		default:
			return d
		}
	}
}

func isManifest(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func isRoot(p string) bool { return p == "" || p == "." }

// join names file f of the app directory dir relative to the repository root.
func join(dir, f string) string {
	if isRoot(dir) {
		return f
	}
	return path.Join(dir, f)
}
