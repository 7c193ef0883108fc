package notify

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/ferrycd/ferry/services/drift/config"
)

// metadataEventType tags Ferry's messages in Slack message metadata.
const metadataEventType = "ferry_alert"

// WebAPI posts to a channel with a bot token through chat.postMessage and
// rewrites messages with chat.update.
type WebAPI struct {
	api     *slack.Client
	channel string
}

// NewWebAPI returns a notifier for channel; apiURL overrides Slack's API
// base (it must end with "/"; empty means https://slack.com/api/).
func NewWebAPI(token config.Secret, channel, apiURL string, client *http.Client) *WebAPI {
	opts := []slack.Option{slack.OptionHTTPClient(client)}
	if apiURL != "" {
		if apiURL[len(apiURL)-1] != '/' {
			apiURL += "/"
		}
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	return &WebAPI{api: slack.New(token.Value(), opts...), channel: channel}
}

// Notify posts m, as a thread reply when ThreadTS is set, or rewrites the
// message UpdateTS.
func (w *WebAPI) Notify(ctx context.Context, m Message) (Receipt, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if m.Tag != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType: metadataEventType, EventPayload: map[string]any{"tag": m.Tag},
		}))
	}
	if m.UpdateTS != "" {
		ch, ts, _, err := w.api.UpdateMessageContext(ctx, w.channel, m.UpdateTS, opts...)
		if err != nil {
			return Receipt{}, fmt.Errorf("slack chat.update: %w", err)
		}
		return Receipt{Channel: ch, TS: ts}, nil
	}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	ch, ts, err := w.api.PostMessageContext(ctx, w.channel, opts...)
	if err != nil {
		return Receipt{}, fmt.Errorf("slack chat.postMessage: %w", err)
	}
	return Receipt{Channel: ch, TS: ts}, nil
}

// Threads is true: the Web API returns the ts of every message.
func (w *WebAPI) Threads() bool { return true }

// Find looks through the channel (or threadTS's replies) since since for a
// message whose metadata carries tag. It needs the channels:history scope
// and a channel ID in the route; without them it finds nothing.
func (w *WebAPI) Find(ctx context.Context, tag, threadTS string, since time.Time) (Receipt, bool, error) {
	oldest := strconv.FormatFloat(float64(since.Add(-time.Minute).UnixMicro())/1e6, 'f', 6, 64)
	var msgs []slack.Message
	if threadTS != "" {
		m, _, _, err := w.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: w.channel, Timestamp: threadTS, Oldest: oldest, Limit: 200, IncludeAllMetadata: true,
		})
		if err != nil {
			return Receipt{}, false, fmt.Errorf("slack conversations.replies: %w", err)
		}
		msgs = m
	} else {
		resp, err := w.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: w.channel, Oldest: oldest, Limit: 200, IncludeAllMetadata: true,
		})
		if err != nil {
			return Receipt{}, false, fmt.Errorf("slack conversations.history: %w", err)
		}
		msgs = resp.Messages
	}
	for _, m := range msgs {
		if m.Metadata.EventType == metadataEventType && m.Metadata.EventPayload["tag"] == tag {
			return Receipt{Channel: w.channel, TS: m.Timestamp}, true, nil
		}
	}
	return Receipt{}, false, nil
}
