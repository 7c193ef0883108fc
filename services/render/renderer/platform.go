package renderer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
)

// syncRegistry loads ferry.yaml from the pushed commit, when there is one,
// into the ferry-apps bucket: apps it lists are stored, apps this platform
// repository listed before and no longer does are deleted. An invalid
// ferry.yaml is logged and leaves the registry as it was; it is the
// author's to fix, retrying would not help.
func (r *renderer) syncRegistry(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot) error {
	data, err := snap.ReadFile(registry.FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", registry.FileName, err)
	}
	log := logging.From(ctx)
	reg, err := registry.Parse(registry.FileName, data)
	if err != nil {
		log.Error("invalid app registry; keeping the previous one", "file", registry.FileName, "error", err)
		return nil
	}
	listed := make(map[string]bool, len(reg.Apps))
	for i := range reg.Apps {
		entry := &registry.Entry{App: reg.Apps[i], Platform: ev.GetCloneUrl()}
		listed[entry.Name] = true
		cur, _ := r.apps.get(entry.Name)
		if cur != nil && same(cur, entry) {
			continue
		}
		if cur != nil && subject.RepoKey(cur.Platform) != ev.GetRepoKey() {
			log.Warn("app was declared by another platform repository; this one takes it over",
				"app", entry.Name, "previous_platform", cur.Platform)
		}
		if err := r.apps.put(ctx, entry); err != nil {
			return err
		}
		log.Info("app registered", "app", entry.Name, "source", entry.Source.Repo, "destinations", len(entry.Destinations))
	}
	for name, rev := range r.apps.ownedBy(ev.GetRepoKey()) {
		if listed[name] {
			continue
		}
		if err := r.apps.remove(ctx, name, rev); err != nil {
			return err
		}
		log.Info("app removed from the registry", "app", name)
	}
	return nil
}

func same(a, b *registry.Entry) bool {
	x, err1 := a.Marshal()
	y, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
