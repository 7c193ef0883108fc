package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Git host providers that take commit statuses.
const (
	ProviderGitHub = "github"
	ProviderGitLab = "gitlab"
	ProviderGitea  = "gitea"
)

// CommitStatus configures reporting sync outcomes to the Git host.
type CommitStatus struct {
	// Context is the status context prefix; the cluster is appended,
	// giving "ferry/<cluster>" (default "ferry"), and on a platform
	// commit "ferry/ferry.yaml" says whether its registry was loaded.
	Context string `json:"context,omitempty"`
	// Repos maps repository URL prefixes to a provider and its credentials.
	// The longest matching prefix wins.
	Repos []Repo `json:"repos,omitempty"`
}

// Repo is how to reach the commit status API of the repositories whose URL
// starts with Prefix.
type Repo struct {
	// Prefix of the repository URL as it appears in DesiredState.repo_url,
	// e.g. https://github.com/org/ (a full URL matches one repository).
	Prefix string `json:"prefix"`
	// Provider is github, gitlab or gitea.
	Provider string `json:"provider"`
	// APIURL is the API base, e.g. https://api.github.com,
	// https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1.
	// Defaults from the repository host.
	APIURL string `json:"apiURL,omitempty"`
	// TokenEnv names an environment variable holding the API token.
	TokenEnv string `json:"tokenEnv,omitempty"`
	// TokenFile is a file holding the API token.
	TokenFile string `json:"tokenFile,omitempty"`
	// TargetURL is linked from the status, e.g. a dashboard; optional.
	TargetURL string `json:"targetURL,omitempty"`
}

func (r *Repo) setDefaults() {
	r.Provider = strings.ToLower(r.Provider)
	if r.APIURL != "" {
		return
	}
	scheme, host := "https", ""
	if u, err := url.Parse(r.Prefix); err == nil && u.Host != "" {
		host = u.Hostname()
		if u.Scheme == "http" {
			scheme, host = "http", u.Host
		}
	} else if _, rest, ok := strings.Cut(r.Prefix, "@"); ok {
		host, _, _ = strings.Cut(rest, ":") // git@host:org/
	}
	if host == "" {
		return
	}
	switch r.Provider {
	case ProviderGitHub:
		if host == "github.com" {
			r.APIURL = "https://api.github.com"
		} else {
			r.APIURL = scheme + "://" + host + "/api/v3"
		}
	case ProviderGitLab:
		r.APIURL = scheme + "://" + host + "/api/v4"
	case ProviderGitea:
		r.APIURL = scheme + "://" + host + "/api/v1"
	}
}

// RepoFor returns the repo entry with the longest prefix of repoURL.
func (c *CommitStatus) RepoFor(repoURL string) (Repo, bool) {
	var best Repo
	found := false
	for _, r := range c.Repos {
		if strings.HasPrefix(repoURL, r.Prefix) && len(r.Prefix) > len(best.Prefix) {
			best, found = r, true
		}
	}
	return best, found
}

// Validate checks every field and names the first bad one.
func (c *Config) Validate() error {
	if c.MinSeverity.Rank() == 0 {
		return fieldErr("minSeverity", "must be info, warning or error, got %q", c.MinSeverity)
	}
	if c.QuietWindow < 0 {
		return fieldErr("quietWindow", "must not be negative")
	}
	if c.Throttle.Interval < 0 {
		return fieldErr("throttle.interval", "must not be negative")
	}
	if c.Throttle.Burst < 0 {
		return fieldErr("throttle.burst", "must not be negative")
	}
	if c.Retry.Initial < 0 || c.Retry.Max < 0 || c.Retry.Max < c.Retry.Initial {
		return fieldErr("retry", "initial and max must not be negative, max not below initial")
	}
	names := map[string]bool{}
	for i, r := range c.Routes {
		f := fmt.Sprintf("routes[%d]", i)
		if err := r.validate(f); err != nil {
			return err
		}
		if names[r.Name] {
			return fieldErr(f+".name", "duplicate route name %q", r.Name)
		}
		names[r.Name] = true
	}
	for i, r := range c.CommitStatus.Repos {
		if err := r.validate(fmt.Sprintf("commitStatus.repos[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func (r Route) validate(f string) error {
	if r.Name == "" {
		return fieldErr(f+".name", "is required")
	}
	if strings.ContainsAny(r.Name, ".*> \t") {
		return fieldErr(f+".name", "must not contain dots, wildcards or spaces")
	}
	if r.MinSeverity != "" && r.MinSeverity.Rank() == 0 {
		return fieldErr(f+".minSeverity", "must be info, warning or error")
	}
	for j, g := range r.Match.Apps {
		if err := checkGlob(g); err != nil {
			return fieldErr(fmt.Sprintf("%s.match.apps[%d]", f, j), "bad glob %q: %v", g, err)
		}
	}
	for j, g := range r.Match.Clusters {
		if err := checkGlob(g); err != nil {
			return fieldErr(fmt.Sprintf("%s.match.clusters[%d]", f, j), "bad glob %q: %v", g, err)
		}
	}
	s := r.Slack
	hook := s.WebhookURL != "" || s.WebhookURLEnv != "" || s.WebhookURLFile != ""
	api := s.Channel != "" || s.TokenEnv != "" || s.TokenFile != ""
	switch {
	case hook && api:
		return fieldErr(f+".slack", "set either a webhook (webhookURL, webhookURLEnv, webhookURLFile) or a channel with a bot token, not both")
	case !hook && !api:
		return fieldErr(f+".slack", "needs webhookURL, webhookURLEnv or webhookURLFile, or channel with tokenEnv or tokenFile")
	case api && s.Channel == "":
		return fieldErr(f+".slack.channel", "is required with a bot token")
	case api && s.TokenEnv == "" && s.TokenFile == "":
		return fieldErr(f+".slack.tokenEnv", "a bot token (tokenEnv or tokenFile) is required with a channel")
	}
	if s.WebhookURL != "" {
		if err := checkURL(s.WebhookURL.Value()); err != nil {
			return fieldErr(f+".slack.webhookURL", "%v", err) // the error never repeats the URL
		}
	}
	if s.APIURL != "" {
		if err := checkURL(s.APIURL); err != nil {
			return fieldErr(f+".slack.apiURL", "%v", err)
		}
	}
	return nil
}

func (r Repo) validate(f string) error {
	if r.Prefix == "" {
		return fieldErr(f+".prefix", "is required")
	}
	switch r.Provider {
	case ProviderGitHub, ProviderGitLab, ProviderGitea:
	case "":
		return fieldErr(f+".provider", "is required (github, gitlab or gitea)")
	default:
		return fieldErr(f+".provider", "%q is not github, gitlab or gitea", r.Provider)
	}
	if r.APIURL == "" {
		return fieldErr(f+".apiURL", "cannot be derived from prefix %q; set it", r.Prefix)
	}
	if err := checkURL(r.APIURL); err != nil {
		return fieldErr(f+".apiURL", "%v", err)
	}
	if r.TokenEnv == "" && r.TokenFile == "" {
		return fieldErr(f+".tokenEnv", "a token (tokenEnv or tokenFile) is required")
	}
	return nil
}

func checkGlob(g string) error {
	if g == "" {
		return fmt.Errorf("empty")
	}
	_, err := pathMatch(g)
	return err
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("must be an http(s) URL with a host")
	}
	return nil
}

func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}
