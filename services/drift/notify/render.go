package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/ferrycd/ferry/services/drift/incident"
	"github.com/ferrycd/ferry/services/drift/repourl"
)

// Limits that keep a message readable and inside Slack's block limits
// (3,000 characters per section text).
const (
	MaxDiff    = 1500
	MaxObjects = 10
	MaxSummary = 500
)

// Subject names what an incident is about, for rendering.
type Subject struct {
	Cluster, App string
	// CommitURL links the incident's revision, "" when unknown.
	CommitURL string
}

// Render builds the message op needs for inc. It never includes anything
// but the incident's own fields; the diff is truncated.
func Render(s Subject, inc *incident.Incident, op incident.Op) Message {
	title := titleFor(s, inc, op)
	commit := commitText(inc.Revision, s.CommitURL)
	text := fmt.Sprintf("%s · commit %s", title, commit)
	if inc.TraceID != "" {
		text += " · trace " + inc.TraceID
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(title), nil, nil),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*App*\n" + esc(s.App)), mrkdwn("*Cluster*\n" + esc(s.Cluster)),
			mrkdwn("*Commit*\n" + commit), mrkdwn("*Severity*\n" + string(inc.Severity)),
		}, nil),
	}
	if op != incident.OpResolve {
		if d := details(inc); d != "" {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(d), nil, nil))
		}
		if inc.Diff != "" {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn("```"+esc(truncate(inc.Diff, MaxDiff))+"```"), nil, nil))
		}
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(footer(inc))))
	return Message{Text: text, Blocks: blocks}
}

func titleFor(s Subject, inc *incident.Incident, op incident.Op) string {
	where := fmt.Sprintf("*%s* on *%s*", esc(s.App), esc(s.Cluster))
	what := map[incident.Kind]string{
		incident.KindDrift: "Drift in", incident.KindFailed: "Sync failed for", incident.KindDegraded: "Degraded:",
		incident.KindFighting: "Self-heal stopped, fighting another writer, in",
	}[inc.Kind]
	switch {
	case op == incident.OpNotice:
		return fmt.Sprintf(":information_source: Drift corrected in %s", where)
	case op == incident.OpResolve || inc.Resolved && op == incident.OpUpdate:
		reason := ""
		if inc.Reason != "" {
			reason = " — " + esc(inc.Reason)
		}
		return fmt.Sprintf(":white_check_mark: Resolved: %s %s%s", strings.TrimSuffix(what, ":"), where, reason)
	case op == incident.OpReminder || op == incident.OpReply:
		return fmt.Sprintf(":repeat: Still open (%d×): %s %s", inc.Count, what, where)
	}
	icon := map[incident.Kind]string{incident.KindDrift: ":warning:", incident.KindFailed: ":x:", incident.KindDegraded: ":large_orange_circle:", incident.KindFighting: ":crossed_swords:"}[inc.Kind]
	return fmt.Sprintf("%s %s %s", icon, what, where)
}

func details(inc *incident.Incident) string {
	var b strings.Builder
	if inc.Summary != "" {
		label := "*What drifted*"
		if inc.Kind != incident.KindDrift && inc.Kind != incident.KindFighting {
			label = "*Error*"
		}
		fmt.Fprintf(&b, "%s\n%s\n", label, esc(truncate(inc.Summary, MaxSummary)))
	}
	for i, o := range inc.Objects {
		if i == MaxObjects {
			fmt.Fprintf(&b, "• …and %d more\n", len(inc.Objects)-MaxObjects)
			break
		}
		line := "• `" + esc(o.Ref) + "`"
		if o.Deleted {
			line += " deleted"
		}
		if o.ChangedBy != "" {
			line += " — changed by `" + esc(o.ChangedBy) + "`"
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimSpace(b.String())
}

func footer(inc *incident.Incident) string {
	parts := []string{}
	if inc.TraceID != "" {
		parts = append(parts, "trace `"+inc.TraceID+"`")
	}
	parts = append(parts, "incident `"+inc.ID+"`")
	if inc.Count > 1 {
		parts = append(parts, fmt.Sprintf("seen %d× since %s", inc.Count, inc.OpenedAt.UTC().Format(time.RFC3339)))
	}
	if inc.Resolved && !inc.ResolvedAt.IsZero() && !inc.OneShot {
		parts = append(parts, "open for "+inc.ResolvedAt.Sub(inc.OpenedAt).Round(time.Second).String())
	}
	return strings.Join(parts, " · ")
}

func commitText(sha, url string) string {
	switch {
	case sha == "":
		return "unknown"
	case url == "":
		return "`" + esc(repourl.Short(sha)) + "`"
	}
	return "<" + url + "|" + esc(repourl.Short(sha)) + ">"
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func esc(s string) string { return slackutilsx.EscapeMessage(s) }

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n… (truncated)"
}
