package cli

import (
	"context"
	"errors"
	"fmt"

	"strings"
	"sync"

	"github.com/ferrycd/ferry/pkg/fleet"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// resultView is the outcome of one command in one cluster in -o json|yaml.
type resultView struct {
	App       string `json:"app"`
	Cluster   string `json:"cluster"`
	Verb      string `json:"verb"`
	CommandID string `json:"commandId,omitempty"`
	// Waited is false with --no-wait: the command is stored, not done.
	Waited   bool         `json:"waited"`
	OK       bool         `json:"ok"`
	Phase    string       `json:"phase,omitempty"`
	Health   string       `json:"health,omitempty"`
	Revision string       `json:"revision,omitempty"`
	Message  string       `json:"message,omitempty"`
	Objects  []objectView `json:"objects,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// runVerb is `ferry sync|rollback --to REV|suspend|resume|unpin APP [--cluster C]`.
func runVerb(ctx context.Context, e *env, args []string) error {
	app, err := oneArg(args, "APP")
	if err != nil {
		return err
	}
	verb, err := fleet.Verb(e.name)
	if err != nil {
		return usagef("%v", err)
	}
	if verb == ferryv1.Verb_VERB_ROLLBACK && e.to == "" {
		return usagef("rollback needs --to REVISION: ferry history %s lists them", app)
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	timeout := fleet.DefaultCommandTimeout
	if e.noWait {
		timeout = defaultTimeout
	}
	ctx, cancel := e.withTimeout(ctx, timeout)
	defer cancel()
	clusters, err := e.clustersOf(ctx, c, app)
	if err != nil {
		return err
	}
	progress := e.out
	if e.structured() {
		progress = e.errOut // keep stdout parseable
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		views = make([]resultView, len(clusters))
		errs  = make([]error, len(clusters))
	)
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(progress, format+"\n", a...)
	}
	for i, cl := range clusters {
		wg.Go(func() {
			views[i], errs[i] = e.command(ctx, c, &ferryv1.Command{App: app, Cluster: cl, Verb: verb, Revision: e.to, RequestedBy: fleet.Requester()}, say)
		})
	}
	wg.Wait()
	if e.structured() {
		if err := e.printData(map[string]any{"results": views}); err != nil {
			return err
		}
	}
	var failed []string
	for _, v := range views {
		if v.Waited && !v.OK && v.Error == "" {
			failed = append(failed, v.Cluster)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &failedError{msg: fmt.Sprintf("%s of %s did not succeed in %s: see ferry status %s", e.name, app, strings.Join(failed, ", "), app)}
	}
	return nil
}

// command sends cmd and, unless --no-wait, reports its progress with say
// and returns its outcome.
func (e *env) command(ctx context.Context, c *fleet.Client, cmd *ferryv1.Command, say func(string, ...any)) (resultView, error) {
	verb := e.name
	v := resultView{App: cmd.GetApp(), Cluster: cmd.GetCluster(), Verb: verb, Waited: !e.noWait}
	what := verb + " " + cmd.GetApp()
	if cmd.GetRevision() != "" {
		what += " to " + cmd.GetRevision()
	}
	var progress func(*ferryv1.SyncResult)
	if !e.noWait {
		say("%s: %s: sent, waiting for the worker", cmd.GetCluster(), what)
		progress = func(res *ferryv1.SyncResult) {
			if res.GetAwaitingHealth() {
				say("%s: applied %s (%s), awaiting health", cmd.GetCluster(), fleet.Short(res.GetRevision()), dash(fleet.Actions(res)))
			}
		}
	}
	res, err := c.Command(ctx, cmd, progress)
	v.CommandID = cmd.GetId()
	if err != nil {
		v.Error = err.Error()
		return v, fmt.Errorf("%s: %w", cmd.GetCluster(), err)
	}
	if e.noWait {
		v.OK = true
		say("%s: %s: sent (command %s); follow it with ferry events --follow --app %s", cmd.GetCluster(), what, cmd.GetId(), cmd.GetApp())
		return v, nil
	}
	v.Phase, v.Revision, v.Message = fleet.PhaseName(res.GetPhase()), res.GetRevision(), res.GetMessage()
	if res.GetHealth() != ferryv1.Health_HEALTH_UNKNOWN {
		v.Health = fleet.HealthName(res.GetHealth())
	}
	for _, o := range res.GetObjects() {
		v.Objects = append(v.Objects, viewObject(o))
	}
	var line string
	v.OK, line = judge(res)
	say("%s: %s", cmd.GetCluster(), line)
	return v, nil
}

// judge says whether a command's final result is a success, and how.
func judge(res *ferryv1.SyncResult) (bool, string) {
	rev, msg := fleet.Short(res.GetRevision()), firstLine(res.GetMessage())
	switch res.GetPhase() {
	case ferryv1.Phase_PHASE_SUCCEEDED:
		switch res.GetHealth() {
		case ferryv1.Health_HEALTH_HEALTHY:
			return true, fmt.Sprintf("✓ healthy at %s: %s", rev, msg)
		case ferryv1.Health_HEALTH_DEGRADED:
			return false, fmt.Sprintf("✗ degraded at %s: %s", rev, msg)
		case ferryv1.Health_HEALTH_PROGRESSING:
			return true, fmt.Sprintf("… applied %s, still progressing: %s", rev, msg)
		default:
			return true, fmt.Sprintf("✓ applied %s: %s", rev, msg)
		}
	case ferryv1.Phase_PHASE_FAILED, ferryv1.Phase_PHASE_RENDER_FAILED:
		return false, fmt.Sprintf("✗ failed at %s: %s", dash(rev), msg)
	case ferryv1.Phase_PHASE_SUPERSEDED:
		return true, "superseded: " + msg
	case ferryv1.Phase_PHASE_HELD:
		return true, "held: " + msg
	default:
		if fleet.Rejected(res) {
			return false, "✗ " + msg
		}
		return true, "✓ " + msg
	}
}
