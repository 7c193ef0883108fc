package commitstatus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/repourl"
)

// Durable is the consumer name on FERRY_DESIRED and FERRY_STATUS; it is
// separate from the alert consumers so neither holds the other up.
const Durable = "drift-commit-status"

// Bucket remembers the last state reported per cluster and commit, so a
// late "pending" never overwrites a final state.
const Bucket = subject.BucketCommitStatus

// MaxDeliver bounds attempts per event: a Git host that stays down loses
// its statuses, never the deploys.
const MaxDeliver = 12

// Options configures the reporter.
type Options struct {
	// Config holds the repositories and retry policy; required.
	Config *config.Config
	// Storage of the bucket (file by default).
	Storage jetstream.StorageType
	// Client for the Git hosts; nil means one with DefaultTimeout.
	Client *http.Client
}

// Service consumes desired states, sync results and registry outcomes
// and sets commit statuses.
type Service struct {
	cfg       *config.Config
	reporters map[string]Reporter // by repo prefix
	kv        jetstream.KeyValue
	mu        sync.Mutex // serialises check-then-report per process
	ccs       []jetstream.ConsumeContext
}

// Start declares the bucket and the three durable consumers and starts
// consuming. Stop drains them.
func Start(ctx context.Context, js jetstream.JetStream, opts Options) (*Service, error) {
	s := &Service{cfg: opts.Config, reporters: map[string]Reporter{}}
	for _, r := range opts.Config.CommitStatus.Repos {
		rep, err := New(r, opts.Client)
		if err != nil {
			return nil, err
		}
		s.reporters[r.Prefix] = rep
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "last commit status reported per cluster and commit",
		History: 1, TTL: 14 * 24 * time.Hour, Storage: opts.Storage,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure kv %s: %w", Bucket, err)
	}
	s.kv = kv
	for _, c := range []struct {
		stream, filter, durable string
		handle                  func(context.Context, jetstream.Msg)
	}{
		{subject.StreamDesired, subject.AllDesired, Durable, s.handleDesired},
		{subject.StreamStatus, subject.AllStatus, Durable, s.handleResult},
		{subject.StreamRegistry, subject.AllRegistry, subject.CommitStatusRegistryConsumer, s.handleRegistry},
	} {
		cons, err := stream.Durable(ctx, js, c.stream, jetstream.ConsumerConfig{
			Durable: c.durable, FilterSubject: c.filter, DeliverPolicy: jetstream.DeliverNewPolicy,
			AckWait: time.Minute, MaxDeliver: MaxDeliver,
		})
		if err != nil {
			s.Stop()
			return nil, err
		}
		log := logging.From(ctx)
		handle := c.handle
		cc, err := cons.Consume(func(m jetstream.Msg) { handle(ctx, m) },
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				if !errors.Is(err, jetstream.ErrNoHeartbeat) {
					log.Warn("consume for commit status", "error", err)
				}
			}))
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("consume %s: %w", c.stream, err)
		}
		s.ccs = append(s.ccs, cc)
	}
	return s, nil
}

// Stop drains the consumers and waits until they are closed.
func (s *Service) Stop() {
	for _, cc := range s.ccs {
		cc.Drain()
	}
	for _, cc := range s.ccs {
		<-cc.Closed()
	}
	s.ccs = nil
}

func (s *Service) handleDesired(ctx context.Context, msg jetstream.Msg) {
	h, err := decodeDesiredHead(msg.Data())
	if err != nil {
		logging.From(ctx).Error("dropping undecodable desired state", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	if h.Deleted {
		_ = msg.Ack()
		return
	}
	s.report(ctx, msg, h.Cluster, h.App, h.RepoURL, h.Revision, StatePending, "deploying to "+h.Cluster)
}

func (s *Service) handleResult(ctx context.Context, msg jetstream.Msg) {
	var res ferryv1.SyncResult
	if _, err := events.DecodeMsg(ctx, msg, &res); err != nil {
		logging.From(ctx).Error("dropping undecodable sync result", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	st, desc := resultState(&res)
	if st == "" {
		_ = msg.Ack()
		return
	}
	s.report(ctx, msg, res.GetCluster(), res.GetApp(), res.GetRepoUrl(), res.GetRevision(), st, desc)
}

// resultState maps a sync result to a commit state and description.
func resultState(res *ferryv1.SyncResult) (State, string) {
	c := res.GetCluster()
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_SUCCEEDED:
		switch res.GetHealth() {
		case ferryv1.Health_HEALTH_DEGRADED:
			return StateFailure, "applied to " + c + " but degraded"
		case ferryv1.Health_HEALTH_PROGRESSING:
			return StateRunning, "applied to " + c + ", waiting for health"
		}
		return StateSuccess, "synced to " + c
	case ferryv1.Phase_PHASE_FAILED:
		return StateFailure, "sync failed on " + c + ": " + res.GetMessage()
	case ferryv1.Phase_PHASE_RENDER_FAILED:
		return StateFailure, "render failed for " + c + ": " + res.GetMessage()
	case ferryv1.Phase_PHASE_SUPERSEDED:
		return StateCanceled, "superseded by a newer revision on " + c
	case ferryv1.Phase_PHASE_HELD:
		// Not final: resuming or unpinning may still apply it.
		return StatePending, "held on " + c + ": " + strings.TrimPrefix(res.GetMessage(), "not applied: ")
	}
	return "", ""
}

var safeToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// report sets one status unless it would move a commit back from a final
// state, then settles msg: ack when done or refused for good, NakWithDelay
// when the host may take it later.
func (s *Service) report(ctx context.Context, msg jetstream.Msg, cluster, app, repoURL, sha string, st State, desc string) {
	log := logging.From(ctx).With("cluster", cluster, "app", app, "revision", sha, "state", string(st))
	repoCfg, ok := s.cfg.CommitStatus.RepoFor(repoURL)
	if !ok || sha == "" || cluster == "" {
		_ = msg.Ack() // repository not configured for commit statuses
		return
	}
	repo, err := repourl.Parse(repoURL)
	if err != nil {
		log.Warn("no commit status: repository url unreadable", "error", err)
		_ = msg.Ack()
		return
	}
	key := ""
	if safeToken.MatchString(sha) {
		key = cluster + "." + subject.RepoKey(repoURL) + "." + sha
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if e, err := s.kv.Get(ctx, key); err == nil {
			last := State(e.Value())
			if last == st || last.Final() && !st.Final() {
				_ = msg.Ack()
				return
			}
		}
	}
	err = s.reporters[repoCfg.Prefix].Report(ctx, Status{
		Repo: repo, SHA: sha, Context: s.cfg.CommitStatus.Context + "/" + cluster,
		State: st, Description: desc, TargetURL: repoCfg.TargetURL,
	})
	if err == nil && key != "" {
		if _, err := s.kv.Put(ctx, key, []byte(st)); err != nil {
			log.Warn("remember commit status", "error", err)
		}
	}
	s.settle(msg, log.With("provider", repoCfg.Provider), err)
}

// settle acks msg once its status is set or refused for good, and naks it
// with the retry policy's delay while the host may take it later.
func (s *Service) settle(msg jetstream.Msg, log *slog.Logger, err error) {
	meta, _ := msg.Metadata()
	switch {
	case err == nil:
		log.Info("commit status set")
		_ = msg.Ack()
	case Retryable(err) && meta != nil && meta.NumDelivered < MaxDeliver:
		delay := s.cfg.Retry.Delay(meta.NumDelivered)
		log.Warn("commit status not set, will retry", "error", err, "delay", delay)
		_ = msg.NakWithDelay(delay)
	default:
		log.Error("commit status not set, giving up", "error", err)
		_ = msg.Term()
	}
}
