package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseValidConfig(t *testing.T) {
	c, err := Parse([]byte(`
minSeverity: warning
quietWindow: 15m
throttle: {interval: 30s, burst: 3}
routes:
  - name: team-a
    match: {apps: ["guestbook*"], clusters: ["prod-*"]}
    minSeverity: info
    slack: {webhookURL: "https://hooks.slack.com/services/T/B/secret"}
  - name: platform
    slack: {channel: C0123, tokenEnv: SLACK_BOT_TOKEN}
commitStatus:
  repos:
    - {prefix: "https://github.com/org/", provider: github, tokenEnv: GITHUB_TOKEN}
    - {prefix: "https://gitlab.example.com/", provider: GitLab, tokenFile: /run/secrets/gl}
    - {prefix: "git@gitea.example.com:", provider: gitea, tokenEnv: GITEA_TOKEN}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.QuietWindow.D() != 15*time.Minute || c.Throttle.Burst != 3 || c.Retry.Initial.D() != DefaultRetryInitial {
		t.Errorf("parsed %+v", c)
	}
	if got := c.CommitStatus.Repos[0].APIURL; got != "https://api.github.com" {
		t.Errorf("github api default %q", got)
	}
	if got := c.CommitStatus.Repos[1].APIURL; got != "https://gitlab.example.com/api/v4" {
		t.Errorf("gitlab api default %q", got)
	}
	if got := c.CommitStatus.Repos[2].APIURL; got != "https://gitea.example.com/api/v1" {
		t.Errorf("gitea api default %q", got)
	}
	if r := c.RoutesFor("prod-eu", "guestbook", SeverityInfo); len(r) != 1 || r[0].Name != "team-a" {
		t.Errorf("info for guestbook: %v", r)
	}
	if r := c.RoutesFor("prod-eu", "other", SeverityInfo); len(r) != 0 {
		t.Errorf("info below platform's minimum routed: %v", r)
	}
	if r := c.RoutesFor("dev", "guestbook", SeverityError); len(r) != 1 || r[0].Name != "platform" {
		t.Errorf("error on dev: %v", r)
	}
}

func TestValidationNamesTheField(t *testing.T) {
	for _, c := range []struct{ yaml, field string }{
		{`minSeverity: loud`, "minSeverity"},
		{`quietWindow: 10`, "quietWindow"},
		{`routes: [{slack: {webhookURL: "https://x/y"}}]`, "routes[0].name"},
		{`routes: [{name: a, slack: {}}]`, "routes[0].slack"},
		{`routes: [{name: a, slack: {webhookURL: "https://x/y", channel: C1, tokenEnv: T}}]`, "routes[0].slack"},
		{`routes: [{name: a, slack: {channel: C1}}]`, "routes[0].slack.tokenEnv"},
		{`routes: [{name: a, slack: {webhookURL: "ftp://x/y"}}]`, "routes[0].slack.webhookURL"},
		{`routes: [{name: a, match: {apps: ["[a"]}, slack: {webhookURLEnv: W}}]`, "routes[0].match.apps[0]"},
		{`routes: [{name: a, slack: {webhookURLEnv: W}}, {name: a, slack: {webhookURLEnv: W}}]`, "routes[1].name"},
		{`commitStatus: {repos: [{prefix: "https://github.com/", provider: bitbucket, tokenEnv: T}]}`, "commitStatus.repos[0].provider"},
		{`commitStatus: {repos: [{prefix: "https://github.com/", provider: github}]}`, "commitStatus.repos[0].tokenEnv"},
		{`commitStatus: {repos: [{prefix: "org/", provider: github, tokenEnv: T}]}`, "commitStatus.repos[0].apiURL"},
		{`routes: [{name: a, slack: {webhookURLEnv: W}, extra: 1}]`, "extra"},
	} {
		_, err := Parse([]byte(c.yaml))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v does not name %s", c.yaml, err, c.field)
		}
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	const url = "https://hooks.slack.com/services/T/B/very-secret"
	_, err := Parse([]byte(`routes: [{name: a, match: {apps: ["[x"]}, slack: {webhookURL: "` + url + `"}}]`))
	if err == nil || strings.Contains(err.Error(), "very-secret") {
		t.Errorf("error %v", err)
	}
	c, err := Parse([]byte(`routes: [{name: a, slack: {webhookURL: "` + url + `"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c, "route", c.Routes[0])
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", c, c, c.Routes[0].Slack, c.Routes[0].Slack.WebhookURL)
	if strings.Contains(out, "very-secret") {
		t.Errorf("secret printed: %s", out)
	}
	if c.Routes[0].Slack.WebhookURL.Value() != url {
		t.Error("value lost")
	}
}

func TestReadSecret(t *testing.T) {
	t.Setenv("FERRY_TEST_TOKEN", "xoxb-1 \n")
	if s, err := ReadSecret("f", "", "FERRY_TEST_TOKEN", ""); err != nil || s.Value() != "xoxb-1" {
		t.Errorf("env: %q %v", s.Value(), err)
	}
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("xoxb-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadSecret("f", "", "", file); err != nil || s.Value() != "xoxb-2" {
		t.Errorf("file: %q %v", s.Value(), err)
	}
	if _, err := ReadSecret("routes.a.slack.tokenEnv", "", "FERRY_TEST_UNSET", ""); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "routes.a.slack.tokenEnv") {
		t.Errorf("unset env: %v", err)
	}
}

func TestRetryDelayGrowsAndCaps(t *testing.T) {
	r := Retry{Initial: Duration(100 * time.Millisecond), Max: Duration(time.Second)}
	if d := r.Delay(1); d < 80*time.Millisecond || d > 120*time.Millisecond {
		t.Errorf("first delay %v", d)
	}
	if d := r.Delay(3); d < 320*time.Millisecond || d > 480*time.Millisecond {
		t.Errorf("third delay %v", d)
	}
	if d := r.Delay(50); d > 1200*time.Millisecond {
		t.Errorf("delay not capped: %v", d)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	if _, err := Load("../drift.example.yaml"); err != nil {
		t.Fatal(err)
	}
}
