package renderer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ferrycd/ferry/pkg/manifest"
	"github.com/ferrycd/ferry/services/render/gitcache"
	"github.com/ferrycd/ferry/services/render/source"
)

// render runs the detected tool on the destination's path through a
// recording view of the repository, validates what it produced and
// returns the output with the inputs it used. A source error in the
// output is redacted: Secret data the render saw never leaves in a
// message. A non-nil error is not the source's fault (I/O) and is retried.
func (r *renderer) render(ctx context.Context, snap *gitcache.Snapshot, t target) (output, *source.Inputs, error) {
	r.state.renders.Add(1)
	root, in := source.Record(snap.FS())
	dir := t.entry.PathFor(t.dest)
	out := r.run(ctx, root, dir, t)
	if out.err == nil {
		return out, in, nil
	}
	var se *source.Error
	if !errors.As(out.err, &se) {
		return output{}, nil, out.err
	}
	var red source.Redactor
	red.Collect(snap.FS(), in.Paths())
	red.CollectYAML(out.data)
	out.err = &source.Error{File: se.File, Err: errors.New(red.Redact(se.Error()))}
	out.data = nil
	return out, in, nil
}

// run detects the tool and renders; out.data is set on validation errors
// too, for redaction.
func (r *renderer) run(ctx context.Context, root fs.FS, dir string, t target) output {
	sub, err := fs.Sub(root, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return output{err: &source.Error{File: dir, Err: fmt.Errorf("%s: path does not exist at this revision", dir)}}
	}
	if err != nil {
		return output{err: fmt.Errorf("open %s: %w", dir, err)}
	}
	tool, err := source.Detect(sub, r.tools)
	if err != nil {
		return output{err: err}
	}
	data, err := source.RenderWithin(ctx, tool, source.Request{
		Root: root, Path: dir, Name: t.entry.Name, Namespace: t.dest.Namespace, Values: t.dest.Values,
		ValuesObject: t.dest.ValuesObject, KubeVersion: t.entry.KubeVersionFor(t.dest),
	}, r.opts.Limits)
	if err != nil {
		return output{tool: tool.Name(), err: err}
	}
	objs, err := manifest.Parse(dir, data)
	if err != nil {
		return output{tool: tool.Name(), data: data, err: &source.Error{File: dir, Err: err}}
	}
	if err := source.CheckObjects(dir, objs, r.opts.Limits); err != nil {
		return output{tool: tool.Name(), err: err}
	}
	if len(objs) == 0 {
		// Publishing nothing would prune everything; an app is removed by
		// deleting it from ferry.yaml, not by emptying its directory.
		return output{tool: tool.Name(), err: &source.Error{File: dir, Err: fmt.Errorf("%s: no manifests found", dir)}}
	}
	return output{tool: tool.Name(), data: data}
}
