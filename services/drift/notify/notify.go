// Package notify sends alert messages to Slack. A Notifier has one method;
// each kind of Slack target (incoming webhook, Web API with a bot token)
// lives in its own file, and New picks one from a route's configuration.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/ferrycd/ferry/services/drift/config"
)

// Message is one Slack message, new or a rewrite of an earlier one.
type Message struct {
	// Text is the notification fallback and the whole message for clients
	// that do not render blocks.
	Text string
	// Blocks is the Block Kit layout.
	Blocks []slack.Block
	// UpdateTS rewrites the message with this ts instead of posting (Web API only).
	UpdateTS string
	// ThreadTS posts the message as a reply in this thread (Web API only).
	ThreadTS string
	// Tag marks the message in its metadata so a retry whose earlier outcome
	// is unknown can look for it before posting again (Web API only).
	Tag string
}

// Receipt says where a message landed; empty for incoming webhooks, which
// do not tell.
type Receipt struct {
	Channel string
	TS      string
}

// Notifier delivers one message.
type Notifier interface {
	Notify(ctx context.Context, m Message) (Receipt, error)
}

// Finder is implemented by notifiers that can look for a message they may
// already have posted, to stay idempotent across retries.
type Finder interface {
	// Find returns the message tagged tag posted since since (in threadTS's
	// thread when set), if there is one.
	Find(ctx context.Context, tag, threadTS string, since time.Time) (Receipt, bool, error)
}

// Threaded is implemented by notifiers that return a ts and can update and
// thread messages.
type Threaded interface {
	// Threads reports whether UpdateTS and ThreadTS are honoured.
	Threads() bool
}

// DefaultTimeout bounds one Slack request.
const DefaultTimeout = 10 * time.Second

// New builds the notifier of route, reading its secrets from the
// environment or files. client may be nil for one with DefaultTimeout.
func New(route config.Route, client *http.Client) (Notifier, error) {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	s := route.Slack
	field := "routes." + route.Name + ".slack"
	if s.UsesWebAPI() {
		token, err := config.ReadSecret(field+".tokenEnv", "", s.TokenEnv, s.TokenFile)
		if err != nil {
			return nil, err
		}
		return NewWebAPI(token, s.Channel, s.APIURL, client), nil
	}
	url, err := config.ReadSecret(field+".webhookURL", s.WebhookURL, s.WebhookURLEnv, s.WebhookURLFile)
	if err != nil {
		return nil, err
	}
	if url == "" {
		return nil, fmt.Errorf("%w: %s: webhook URL is empty", config.ErrInvalid, field)
	}
	return NewWebhook(url, client), nil
}

// Failure says how to settle a failed delivery.
type Failure struct {
	// Retry is true when trying again later may succeed (5xx, 429,
	// network); false for errors Slack will repeat (bad token, no channel).
	Retry bool
	// After is how long Slack asked to wait (429 Retry-After), or 0.
	After time.Duration
	// Uncertain is true when the request may have reached Slack, so a
	// retry could post twice.
	Uncertain bool
}

// retryableAPIErrors are Slack Web API error codes worth retrying.
var retryableAPIErrors = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// Classify tells how a Notify error should be settled.
func Classify(err error) Failure {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var api slack.SlackErrorResponse
	switch {
	case err == nil:
		return Failure{}
	case errors.As(err, &rl):
		return Failure{Retry: true, After: rl.RetryAfter}
	case errors.As(err, &sc):
		return Failure{Retry: sc.Retryable()}
	case errors.As(err, &api):
		return Failure{Retry: retryableAPIErrors[api.Err]}
	case errors.Is(err, config.ErrInvalid):
		return Failure{}
	}
	return Failure{Retry: true, Uncertain: true}
}

// scrub removes a secret from an error text: net/url errors quote the URL,
// and an incoming webhook URL is a credential.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), secret, "<webhook-url>"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }
