package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// slackServer plays Slack's incoming-webhook endpoint: it checks each
// request has the shape Slack documents (POST, JSON, a non-empty "text",
// blocks with a "type") and records the valid ones.
type slackServer struct {
	*httptest.Server
	mu       sync.Mutex
	messages []slackMessage
	invalid  []string
}

type slackMessage struct {
	Text   string           `json:"text"`
	Blocks []map[string]any `json:"blocks"`
	raw    string
}

func newSlackServer() *slackServer {
	s := &slackServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m slackMessage
		err := json.Unmarshal(body, &m)
		valid := err == nil && r.Method == http.MethodPost &&
			strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") && m.Text != ""
		for _, b := range m.Blocks {
			if _, ok := b["type"].(string); !ok {
				valid = false
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !valid {
			s.invalid = append(s.invalid, string(body))
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		m.raw = string(body)
		s.messages = append(s.messages, m)
		_, _ = io.WriteString(w, "ok")
	}))
	return s
}

// find returns the valid messages whose raw JSON contains every word.
func (s *slackServer) find(words ...string) []slackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []slackMessage
	for _, m := range s.messages {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(m.raw, w)
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

func (s *slackServer) invalidPayloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.invalid...)
}
