package cli

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

func TestParseFlagsAnywhere(t *testing.T) {
	e := &env{name: "rollback"}
	args, err := e.parse([]string{"web", "--to", "abc1234", "-o", "json", "--cluster", "prod", "--timeout", "5s"})
	if err != nil || !slices.Equal(args, []string{"web"}) || e.to != "abc1234" || e.output != "json" || e.cluster != "prod" || e.timeout != 5*time.Second {
		t.Errorf("parse: args %v err %v env %+v", args, err, e)
	}
	var ue *usageError
	for _, bad := range [][]string{{"web", "--watch"}, {"-o", "xml"}, {"--timeout", "soon"}, {"--timeout", "-5s"}} {
		e := &env{name: "rollback"}
		if _, err := e.parse(bad); !errors.As(err, &ue) {
			t.Errorf("parse %v: %v, want a usage error", bad, err)
		}
	}
	for _, bad := range [][]string{{"--since", "-10m"}, {"--since", "yesterday"}, {"-o", "xml", "--follow"}} {
		e := &env{name: "events"}
		if _, err := e.parse(bad); !errors.As(err, &ue) {
			t.Errorf("events %v: %v, want a usage error", bad, err)
		}
	}
}

func TestRunUsageExitCodes(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"get"}, {"status"}, {"get", "apps", "--bogus"}, {"get", "apps", "-o", "xml"}, {"events", "--since", "-1m"}, {"status", "web", "--timeout", "-1s"}} {
		var out, errOut bytes.Buffer
		if code := Run(t.Context(), args, &out, &errOut); code != ExitUsage {
			t.Errorf("Run %v = %d, want %d (stderr %q)", args, code, ExitUsage, errOut.String())
		}
	}
	var out bytes.Buffer
	if code := Run(t.Context(), []string{"get", "-h"}, &out, &out); code != ExitOK || !strings.Contains(out.String(), "Exit codes:") {
		t.Errorf("help: %d %q", code, out.String())
	}
}

func TestTreeOrder(t *testing.T) {
	spans := []*ferryv1.Span{
		{SpanId: "c", ParentSpanId: "b", Name: "apply", StartUnixNano: 30, EndUnixNano: 40},
		{SpanId: "a", Name: "ingest", StartUnixNano: 10, EndUnixNano: 15},
		{SpanId: "d", ParentSpanId: "missing", Name: "orphan", StartUnixNano: 50, EndUnixNano: 51},
		{SpanId: "b", ParentSpanId: "a", Name: "render", StartUnixNano: 20, EndUnixNano: 45},
		{SpanId: "e", ParentSpanId: "b", Name: "render.app", StartUnixNano: 25, EndUnixNano: 26},
	}
	var got []string
	for _, v := range treeOrder(spans) {
		got = append(got, strings.Repeat(".", v.Depth)+v.Name)
	}
	if want := []string{"ingest", ".render", "..render.app", "..apply", "orphan"}; !slices.Equal(got, want) {
		t.Errorf("tree %v, want %v", got, want)
	}
}

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		res *ferryv1.SyncResult
		ok  bool
	}{
		{&ferryv1.SyncResult{Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_HEALTHY}, true},
		{&ferryv1.SyncResult{Phase: ferryv1.Phase_PHASE_SUCCEEDED, Health: ferryv1.Health_HEALTH_DEGRADED}, false},
		{&ferryv1.SyncResult{Phase: ferryv1.Phase_PHASE_FAILED}, false},
		{&ferryv1.SyncResult{Message: "automated sync suspended"}, true},
		{&ferryv1.SyncResult{Message: `rejected: revision "x" is not among the 2 desired states`}, false},
	} {
		if ok, line := judge(c.res); ok != c.ok {
			t.Errorf("judge(%v) = %v %q, want %v", c.res, ok, line, c.ok)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Now()
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 5 * time.Minute: "5m", 5 * time.Hour: "5h", 72 * time.Hour: "3d"} {
		if got := age(now, now.Add(-d)); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}
