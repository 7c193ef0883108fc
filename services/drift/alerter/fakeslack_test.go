package alerter

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// slackMsg is one request the fake Slack accepted.
type slackMsg struct {
	At       time.Time
	Target   string // webhook name, or the Web API method
	Channel  string
	Text     string
	Blocks   []map[string]any
	TS       string // chat.update: the message rewritten; postMessage: the ts given
	ThreadTS string
	Metadata string
}

// fakeSlack plays Slack: incoming webhooks at /hooks/<name> and the Web
// API at /api/<method>, checking the payload shapes Slack documents. While
// failing is set it answers 500 without accepting anything.
type fakeSlack struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	msgs     []slackMsg
	failing  bool
	failures int
	nextTS   int
	notify   chan slackMsg
}

func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{t: t, token: "xoxb-test-token", nextTS: 1000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/{name}", f.webhook)
	mux.HandleFunc("POST /api/{method}", f.api)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) hookURL(name string) string { return f.srv.URL + "/hooks/" + name }
func (f *fakeSlack) apiURL() string             { return f.srv.URL + "/api/" }

func (f *fakeSlack) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func (f *fakeSlack) failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures
}

// fail answers 500 when failing, and reports whether it did.
func (f *fakeSlack) fail(w http.ResponseWriter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failing {
		return false
	}
	f.failures++
	http.Error(w, "<html>internal error</html>", http.StatusInternalServerError)
	return true
}

func (f *fakeSlack) record(m slackMsg) {
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	ch := f.notify
	f.mu.Unlock()
	if ch != nil {
		ch <- m
	}
}

// all returns the accepted requests, optionally only those to target.
func (f *fakeSlack) all(target string) []slackMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slackMsg
	for _, m := range f.msgs {
		if target == "" || m.Target == target {
			out = append(out, m)
		}
	}
	return out
}

func (f *fakeSlack) webhook(w http.ResponseWriter, r *http.Request) {
	if f.fail(w) {
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		f.t.Errorf("webhook content type %q, want application/json", ct)
	}
	var body struct {
		Text     string           `json:"text"`
		Blocks   []map[string]any `json:"blocks"`
		ThreadTS string           `json:"thread_ts"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil {
		f.t.Errorf("webhook body is not JSON: %v", err)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if body.Text == "" && len(body.Blocks) == 0 {
		f.t.Errorf("webhook payload has neither text nor blocks")
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	f.checkBlocks(body.Blocks)
	f.record(slackMsg{At: time.Now(), Target: r.PathValue("name"), Text: body.Text, Blocks: body.Blocks})
	_, _ = w.Write([]byte("ok"))
}

func (f *fakeSlack) api(w http.ResponseWriter, r *http.Request) {
	if f.fail(w) {
		return
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("web api form: %v", err)
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if tok != f.token {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	method := r.PathValue("method")
	m := slackMsg{At: time.Now(), Target: method, Channel: r.PostForm.Get("channel"), Text: r.PostForm.Get("text"),
		ThreadTS: r.PostForm.Get("thread_ts"), Metadata: r.PostForm.Get("metadata")}
	if b := r.PostForm.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &m.Blocks); err != nil {
			f.t.Errorf("blocks field is not a JSON array: %v", err)
		}
		f.checkBlocks(m.Blocks)
	}
	if m.Channel == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	switch method {
	case "chat.postMessage":
		if m.Text == "" && len(m.Blocks) == 0 {
			writeJSON(w, map[string]any{"ok": false, "error": "no_text"})
			return
		}
		f.mu.Lock()
		f.nextTS++
		m.TS = fmt.Sprintf("1700000000.%06d", f.nextTS)
		f.mu.Unlock()
	case "chat.update":
		m.TS = r.PostForm.Get("ts")
		if m.TS == "" {
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
	case "conversations.history", "conversations.replies":
		writeJSON(w, map[string]any{"ok": true, "messages": []any{}})
		return
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	f.record(m)
	writeJSON(w, map[string]any{"ok": true, "channel": "C0FERRY", "ts": m.TS, "message": map[string]any{"text": m.Text}})
}

// checkBlocks asserts Block Kit's shape: every block has a type, section
// text is a text object.
func (f *fakeSlack) checkBlocks(blocks []map[string]any) {
	for i, b := range blocks {
		typ, _ := b["type"].(string)
		if typ == "" {
			f.t.Errorf("block %d has no type", i)
		}
		if txt, ok := b["text"].(map[string]any); ok {
			if txt["type"] != "mrkdwn" && txt["type"] != "plain_text" {
				f.t.Errorf("block %d text type %v", i, txt["type"])
			}
			if s, _ := txt["text"].(string); len(s) > 3000 {
				f.t.Errorf("block %d text is %d characters, Slack allows 3000", i, len(s))
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// blockText joins the text of all blocks, for assertions.
func blockText(blocks []map[string]any) string {
	raw, _ := json.Marshal(blocks)
	return string(raw)
}
