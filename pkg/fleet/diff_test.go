package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// TestDiffWithoutWorkerFailsFast: nobody answers cluster prod's queries,
// so Diff fails at once, saying when its worker was last seen.
func TestDiffWithoutWorkerFailsFast(t *testing.T) {
	e := newEnv(t)
	started := time.Now()
	_, err := e.c.Diff(t.Context(), "prod", "web")
	if !errors.Is(err, ErrNoWorker) || !strings.Contains(err.Error(), "has ever been seen") {
		t.Errorf("diff without any heartbeat: %v", err)
	}
	e.beat("prod", time.Now().Add(-5*time.Minute), false)
	_, err = e.c.Diff(t.Context(), "prod", "web")
	if !errors.Is(err, ErrNoWorker) || !strings.Contains(err.Error(), `no worker for cluster "prod" has been seen for 5m0s`) {
		t.Errorf("diff with a heartbeat 5m old: %v", err)
	}
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("diffs without a worker took %s; they must fail fast", took)
	}
}

// TestDiffAnswers: the worker's answer comes back; an answer with an
// error is returned with an error wrapping ErrDiff.
func TestDiffAnswers(t *testing.T) {
	e := newEnv(t)
	sub, err := e.nc.Subscribe(subject.Query("prod", subject.QueryDiff), func(m *nats.Msg) {
		req := &ferryv1.DiffRequest{}
		_ = proto.Unmarshal(m.Data, req)
		res := &ferryv1.DiffResponse{App: req.GetApp(), Cluster: "prod", Revision: "abc"}
		if req.GetApp() == "broken" {
			res.Error = "no desired state of broken"
		} else if req.GetRequestedBy() != "" {
			res.Objects = []*ferryv1.ObjectDiff{{Ref: &ferryv1.ObjectRef{Kind: "ConfigMap", Name: "cfg"}, Action: ferryv1.Action_ACTION_CONFIGURED}}
		}
		data, _ := proto.Marshal(res)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	res, err := e.c.Diff(t.Context(), "prod", "web")
	if err != nil || res.GetRevision() != "abc" || len(res.GetObjects()) != 1 {
		t.Errorf("diff: %v %v", res, err)
	}
	res, err = e.c.Diff(t.Context(), "prod", "broken")
	if !errors.Is(err, ErrDiff) || res.GetError() == "" || !strings.Contains(err.Error(), "no desired state of broken") {
		t.Errorf("failed diff: %v %v", res, err)
	}
	if _, err := e.c.Diff(t.Context(), "Prod", "web"); err == nil {
		t.Error("diff of an invalid cluster name succeeded")
	}
}
