package commitstatus

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/repourl"
)

// RegistryContext is appended to the configured context prefix to name
// the status of the platform commit's ferry.yaml ("ferry/ferry.yaml").
// It holds a dot, so no cluster (a DNS-1123 label) can share it.
const RegistryContext = "ferry.yaml"

// handleRegistry sets the ferry.yaml status on the platform commit render
// read: success when the registry was loaded, failure with the reason
// when it was rejected. An ignored ferry.yaml (not the platform
// repository) gets none.
func (s *Service) handleRegistry(ctx context.Context, msg jetstream.Msg) {
	var st ferryv1.RegistryStatus
	if _, err := events.DecodeMsg(ctx, msg, &st); err != nil {
		logging.From(ctx).Error("dropping undecodable registry status", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	state, desc := registryState(&st)
	log := logging.From(ctx).With("repo", st.GetRepoUrl(), "revision", st.GetRevision(), "state", string(state), "context", RegistryContext)
	repoCfg, ok := s.cfg.CommitStatus.RepoFor(st.GetRepoUrl())
	if state == "" || !ok || st.GetRevision() == "" {
		_ = msg.Ack() // ignored, or a repository not configured for commit statuses
		return
	}
	repo, err := repourl.Parse(st.GetRepoUrl())
	if err != nil {
		log.Warn("no commit status: repository url unreadable", "error", err)
		_ = msg.Ack()
		return
	}
	err = s.reporters[repoCfg.Prefix].Report(ctx, Status{
		Repo: repo, SHA: st.GetRevision(), Context: s.cfg.CommitStatus.Context + "/" + RegistryContext,
		State: state, Description: desc, TargetURL: repoCfg.TargetURL,
	})
	s.settle(msg, log.With("provider", repoCfg.Provider), err)
}

// registryState maps a registry outcome to a commit state and
// description; "" for an outcome that sets no status.
func registryState(st *ferryv1.RegistryStatus) (State, string) {
	switch st.GetOutcome() {
	case ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED:
		n := len(st.GetApps())
		if n == 1 {
			return StateSuccess, "registry loaded: 1 app"
		}
		return StateSuccess, fmt.Sprintf("registry loaded: %d apps", n)
	case ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED:
		reason := strings.Join(strings.Fields(st.GetReason()), " ")
		if reason == "" {
			reason = "no reason given"
		}
		return StateFailure, "rejected, the previous registry stays in force: " + reason
	}
	return "", ""
}
