package renderer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/render/gitcache"
)

// publishRegistry records what render made of repo's ferry.yaml at ev's
// revision on FERRY_REGISTRY, where the CLI, the dashboard and the
// commit status service read it. The message id makes a redelivered push
// record each outcome once.
func (r *renderer) publishRegistry(ctx context.Context, ev *ferryv1.PushEvent, repo string, outcome ferryv1.RegistryOutcome, reason string, apps []string) error {
	st := &ferryv1.RegistryStatus{
		RepoUrl:           repo,
		Ref:               ev.GetRef(),
		Revision:          ev.GetAfter(),
		Outcome:           outcome,
		Reason:            reason,
		File:              registry.FileName,
		Apps:              apps,
		PushId:            ev.GetId(),
		ReceivedUnixNano:  ev.GetReceivedUnixNano(),
		PublishedUnixNano: time.Now().UnixNano(),
	}
	if outcome == ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED {
		st.PlatformUrl = strings.Join(r.opts.PlatformRepos, ",")
	}
	key := subject.RepoKey(repo)
	msgID := "registry/" + key + "/" + ev.GetAfter() + "/" + strings.ToLower(strings.TrimPrefix(outcome.String(), "REGISTRY_OUTCOME_"))
	if _, err := events.Publish(ctx, r.js, subject.Registry(key), st, msgID); err != nil {
		return fmt.Errorf("publish registry outcome of %s: %w", repo, err)
	}
	return nil
}

// noticeStrayRegistry publishes an IGNORED outcome when a repository that
// is not a platform repository carries a ferry.yaml: it declares nothing,
// and its author learns so from ferry events instead of a silent no-op.
func (r *renderer) noticeStrayRegistry(ctx context.Context, ev *ferryv1.PushEvent, snap *gitcache.Snapshot, repo string) error {
	ok, err := snap.Exists(registry.FileName)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("look for %s: %w", registry.FileName, err)
	}
	if !ok {
		return nil
	}
	logging.From(ctx).Warn("ignoring ferry.yaml of a repository that is not a platform repository", "source", repo)
	reason := fmt.Sprintf("%s is not a platform repository; only %s declare apps", repo, strings.Join(r.opts.PlatformRepos, ", "))
	return r.publishRegistry(ctx, ev, repo, ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED, reason, nil)
}
