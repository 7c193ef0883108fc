package notify

import (
	"context"
	"fmt"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/ferrycd/ferry/services/drift/config"
)

// Webhook posts to a Slack incoming webhook. It cannot update or thread
// messages, so repeats are suppressed by the caller instead.
type Webhook struct {
	url    config.Secret
	client *http.Client
}

// NewWebhook returns a notifier posting to url with client.
func NewWebhook(url config.Secret, client *http.Client) *Webhook {
	return &Webhook{url: url, client: client}
}

// Notify posts m's text and blocks. UpdateTS, ThreadTS and Tag are ignored.
func (w *Webhook) Notify(ctx context.Context, m Message) (Receipt, error) {
	msg := &slack.WebhookMessage{Text: m.Text}
	if len(m.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: m.Blocks}
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, w.url.Value(), w.client, msg); err != nil {
		return Receipt{}, fmt.Errorf("post slack webhook: %w", scrub(err, w.url.Value()))
	}
	return Receipt{}, nil
}

// Threads is false: an incoming webhook returns no ts.
func (w *Webhook) Threads() bool { return false }
