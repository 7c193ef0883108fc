package webhook

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"

	// The v1 API of the encoding/json v2 reference implementation: the
	// same semantics as encoding/json (case-insensitive names, last
	// duplicate wins, invalid UTF-8 replaced), validated in one pass
	// instead of two, about twice as fast on a push payload.
	json "github.com/go-json-experiment/json/v1"

	"github.com/ferrycd/ferry/pkg/repoid"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// decode unmarshals a JSON body, or the "payload" field of a form-encoded
// body (GitHub and Gitea offer both content types), into v. The body is
// validated whole; only the fields of v are kept.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] != '{' {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return fmt.Errorf("%w: body is neither a JSON object nor a form with a payload field", ErrMalformed)
		}
		body = []byte(form.Get("payload"))
	}
	if err := decodeJSON(body, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// decodeJSON is json.Unmarshal with encoding/json's semantics;
// FuzzDecodeMatchesEncodingJSON holds it to that.
func decodeJSON(body []byte, v any) error { return json.Unmarshal(body, v) }

// validate checks the fields every consumer relies on. A signature says
// which host sent a push, not that what it names is safe to fetch: the
// clone URL must be a network repository URL Ferry may fetch
// (repoid.Parse refuses file://, local paths, other schemes and URLs with
// a password) and the ref a name git would accept (checkRef).
func validate(ev *ferryv1.PushEvent) error {
	switch {
	case ev.GetCloneUrl() == "":
		return fmt.Errorf("%w: no repository clone url", ErrMalformed)
	case ev.GetRef() == "":
		return fmt.Errorf("%w: no ref", ErrMalformed)
	}
	if _, err := repoid.Parse(ev.GetCloneUrl()); err != nil {
		return fmt.Errorf("%w: clone url: %s", ErrMalformed, redactPassword(err.Error(), ev.GetCloneUrl()))
	}
	if err := checkRef(ev.GetRef()); err != nil {
		return fmt.Errorf("%w: ref %q is not a valid git ref: %w", ErrMalformed, clip(ev.GetRef()), err)
	}
	switch {
	case !isSHA(ev.GetAfter()):
		return fmt.Errorf("%w: after %q is not a commit id", ErrMalformed, clip(ev.GetAfter()))
	case ev.GetBefore() != "" && !isSHA(ev.GetBefore()):
		return fmt.Errorf("%w: before %q is not a commit id", ErrMalformed, clip(ev.GetBefore()))
	}
	return nil
}

// redactPassword replaces the password of rawURL, if it has one, in msg:
// repoid's error for a URL it cannot parse quotes the URL, and the reason
// goes to the log and the answer.
func redactPassword(msg, rawURL string) string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return msg
	}
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return msg
	}
	if _, password, ok := strings.Cut(authority[:at], ":"); ok && password != "" {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	return msg
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
