package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// decode unmarshals a JSON body, or the "payload" field of a form-encoded
// body (GitHub and Gitea offer both content types), into v.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] != '{' {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return fmt.Errorf("%w: body is neither a JSON object nor a form with a payload field", ErrMalformed)
		}
		body = []byte(form.Get("payload"))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// validate checks the fields every consumer relies on.
func validate(ev *ferryv1.PushEvent) error {
	switch {
	case ev.GetCloneUrl() == "":
		return fmt.Errorf("%w: no repository clone url", ErrMalformed)
	case ev.GetRef() == "":
		return fmt.Errorf("%w: no ref", ErrMalformed)
	case !isSHA(ev.GetAfter()):
		return fmt.Errorf("%w: after %q is not a commit id", ErrMalformed, clip(ev.GetAfter()))
	case ev.GetBefore() != "" && !isSHA(ev.GetBefore()):
		return fmt.Errorf("%w: before %q is not a commit id", ErrMalformed, clip(ev.GetBefore()))
	}
	return nil
}

// isSHA reports whether s is a SHA-1 or SHA-256 object id in lowercase hex.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// clip shortens an untrusted value before it goes into an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// unixTime parses an RFC 3339 timestamp; zero when absent or malformed.
func unixTime(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
