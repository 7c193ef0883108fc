package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
	"github.com/ferrycd/ferry/services/drift/incident"
)

func TestRenderTruncatesAndEscapes(t *testing.T) {
	var objs []incident.Object
	for range 15 {
		objs = append(objs, incident.Object{Ref: "ConfigMap ns/<cm>", ChangedBy: "kubectl-edit"})
	}
	inc := &incident.Incident{ID: "abc", Kind: incident.KindDrift, Severity: config.SeverityWarning,
		OpenedAt: time.Unix(0, 0), Count: 3, Revision: "0123456789", TraceID: "4bf9", Summary: "15 object(s) drifted",
		Objects: objs, Diff: strings.Repeat("é", 2000)}
	m := Render(Subject{Cluster: "prod", App: "gb", CommitURL: "https://h/o/r/commit/0123456789"}, inc, incident.OpOpen)
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m.Blocks)
	s := buf.String()
	for _, want := range []string{"<https://h/o/r/commit/0123456789|0123456>", "&lt;cm&gt;", "and 5 more", "truncated", "trace `4bf9`", "seen 3×"} {
		if !strings.Contains(s, want) {
			t.Errorf("blocks lack %q", want)
		}
	}
	if strings.Contains(s, "<cm>") {
		t.Error("object name not escaped")
	}
	if !strings.Contains(m.Text, "gb") || !strings.Contains(m.Text, "4bf9") {
		t.Errorf("fallback text %q", m.Text)
	}
	for _, b := range m.Blocks {
		raw, _ := json.Marshal(b)
		if len(raw) > 3500 {
			t.Errorf("block of %d bytes", len(raw))
		}
	}
}

func TestClassify(t *testing.T) {
	if f := Classify(&scrubbed{msg: "dial tcp: refused"}); !f.Retry || !f.Uncertain {
		t.Errorf("network error: %+v", f)
	}
}
