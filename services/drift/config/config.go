// Package config reads and validates the drift service's alerting
// configuration: Slack routes, severity, quiet window, throttle and the
// repositories that get commit statuses. Secrets in it (tokens, webhook
// URLs) are held as Secret, which never prints its value.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// EnvConfig is the environment variable that names the config file when
// --config is not given.
const EnvConfig = "FERRY_DRIFT_CONFIG"

// ErrInvalid wraps every validation error; the message names the field.
var ErrInvalid = errors.New("invalid drift config")

// Config is the whole drift service configuration. The zero value is valid
// and means: log incidents, send nothing, report no commit statuses.
type Config struct {
	// MinSeverity drops alerts below it for every route (default warning).
	MinSeverity Severity `json:"minSeverity,omitempty"`
	// QuietWindow suppresses repeats of an open incident on webhook routes,
	// and spaces thread replies on Web API routes (default 10m).
	QuietWindow Duration `json:"quietWindow,omitempty"`
	// Throttle limits Slack messages per app.
	Throttle Throttle `json:"throttle,omitempty"`
	// Routes send alerts of matching apps and clusters to Slack. An alert
	// goes to every route that matches.
	Routes []Route `json:"routes,omitempty"`
	// CommitStatus reports sync outcomes back to the Git host.
	CommitStatus CommitStatus `json:"commitStatus,omitempty"`
	// Retry spaces redeliveries when Slack or a Git host is unreachable.
	Retry Retry `json:"retry,omitempty"`
}

// Retry is an exponential backoff between redeliveries of a message whose
// alert or status could not be delivered.
type Retry struct {
	// Initial delay (default 1s).
	Initial Duration `json:"initial,omitempty"`
	// Max delay (default 5m).
	Max Duration `json:"max,omitempty"`
}

// Throttle is a token bucket per app: Burst messages at once, then one
// every Interval. Repeats over the limit are folded into the next update;
// opening and resolving messages wait for a token instead.
type Throttle struct {
	// Interval between messages once the burst is spent (default 1m).
	Interval Duration `json:"interval,omitempty"`
	// Burst is how many messages may go out back to back (default 5).
	Burst int `json:"burst,omitempty"`
}

// Route sends the alerts of matching apps and clusters to one Slack target.
type Route struct {
	// Name identifies the route in incident state and logs; unique.
	Name string `json:"name"`
	// Match selects apps and clusters; empty matches everything.
	Match Match `json:"match,omitempty"`
	// MinSeverity raises (or lowers) the global minimum for this route.
	MinSeverity Severity `json:"minSeverity,omitempty"`
	// Slack is where the alerts go.
	Slack Slack `json:"slack"`
}

// Match selects apps and clusters by glob (path.Match syntax).
type Match struct {
	// Apps are globs over app names; empty means all.
	Apps []string `json:"apps,omitempty"`
	// Clusters are globs over cluster names; empty means all.
	Clusters []string `json:"clusters,omitempty"`
}

// Slack is one Slack target: an incoming webhook, or a channel posted to
// with a bot token through the Web API (which allows updates and threads).
type Slack struct {
	// WebhookURL is an incoming webhook URL inline (prefer the env or file form).
	WebhookURL Secret `json:"webhookURL,omitempty"`
	// WebhookURLEnv names an environment variable holding the webhook URL.
	WebhookURLEnv string `json:"webhookURLEnv,omitempty"`
	// WebhookURLFile is a file holding the webhook URL.
	WebhookURLFile string `json:"webhookURLFile,omitempty"`
	// Channel is the channel ID (or #name) for the Web API.
	Channel string `json:"channel,omitempty"`
	// TokenEnv names an environment variable holding the bot token (xoxb-…).
	TokenEnv string `json:"tokenEnv,omitempty"`
	// TokenFile is a file holding the bot token.
	TokenFile string `json:"tokenFile,omitempty"`
	// APIURL overrides https://slack.com/api/ (tests, proxies).
	APIURL string `json:"apiURL,omitempty"`
}

// UsesWebAPI reports whether the target posts through the Web API.
func (s Slack) UsesWebAPI() bool { return s.Channel != "" }

// Defaults used for zero values.
const (
	DefaultQuietWindow      = 10 * time.Minute
	DefaultThrottleInterval = time.Minute
	DefaultThrottleBurst    = 5
	DefaultRetryInitial     = time.Second
	DefaultRetryMax         = 5 * time.Minute
)

// Load reads the YAML file at path, resolves nothing secret yet, fills
// defaults and validates. An empty path returns the zero config.
func Load(path string) (*Config, error) {
	if path == "" {
		c := &Config{}
		c.SetDefaults()
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read drift config: %w", err)
	}
	return Parse(data)
}

// Parse decodes YAML (or JSON), rejecting unknown fields, fills defaults and
// validates.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// SetDefaults fills zero values with the defaults.
func (c *Config) SetDefaults() {
	if c.MinSeverity == "" {
		c.MinSeverity = SeverityWarning
	}
	if c.QuietWindow == 0 {
		c.QuietWindow = Duration(DefaultQuietWindow)
	}
	if c.Throttle.Interval == 0 {
		c.Throttle.Interval = Duration(DefaultThrottleInterval)
	}
	if c.Throttle.Burst == 0 {
		c.Throttle.Burst = DefaultThrottleBurst
	}
	if c.Retry.Initial == 0 {
		c.Retry.Initial = Duration(DefaultRetryInitial)
	}
	if c.Retry.Max == 0 {
		c.Retry.Max = Duration(DefaultRetryMax)
	}
	for i := range c.CommitStatus.Repos {
		c.CommitStatus.Repos[i].setDefaults()
	}
	if c.CommitStatus.Context == "" {
		c.CommitStatus.Context = "ferry"
	}
}

// Duration is a time.Duration written as a Go duration string ("90s", "10m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalJSON accepts "10m" style strings. Its errors are
// json.UnmarshalTypeErrors, so the decoder adds the field's path.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string (want a duration like \"10m\")", Type: reflect.TypeFor[Duration]()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q (want a duration like \"10m\")", s), Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Secret is a sensitive string (token, webhook URL). It prints as
// "REDACTED" through fmt and slog; call Value to use it.
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String hides the value.
func (s Secret) String() string { return redacted(s) }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return redacted(s) }

// MarshalJSON hides the value when the config is dumped.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted(s)) }

// UnmarshalJSON reads the value.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}

func redacted(s Secret) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// ReadSecret returns the inline value, or the environment variable env, or
// the trimmed content of file, in that order; field names the config field
// for errors.
func ReadSecret(field string, inline Secret, env, file string) (Secret, error) {
	switch {
	case inline != "":
		return inline, nil
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("%w: %s: environment variable %s is empty or unset", ErrInvalid, field, env)
		}
		return Secret(strings.TrimSpace(v)), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrInvalid, field, err)
		}
		return Secret(strings.TrimSpace(string(b))), nil
	}
	return "", nil
}
