package config

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
)

// Severity orders alerts: info < warning < error.
type Severity string

// Severities.
const (
	// SeverityInfo is drift that self-heal already corrected.
	SeverityInfo Severity = "info"
	// SeverityWarning is uncorrected drift or a degraded app.
	SeverityWarning Severity = "warning"
	// SeverityError is a failed sync or render.
	SeverityError Severity = "error"
)

// Rank returns 1, 2, 3 for info, warning, error and 0 for anything else.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityError:
		return 3
	}
	return 0
}

// AtLeast reports whether s is min or worse.
func (s Severity) AtLeast(min Severity) bool { return s.Rank() >= min.Rank() }

// UnmarshalJSON accepts info, warning or error.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v != "" && Severity(v).Rank() == 0 {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q (want info, warning or error)", v), Type: reflect.TypeFor[Severity]()}
	}
	*s = Severity(v)
	return nil
}

// Matches reports whether the route selects cluster and app.
func (m Match) Matches(cluster, app string) bool {
	return globAny(m.Apps, app) && globAny(m.Clusters, cluster)
}

func globAny(globs []string, name string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// RoutesFor returns the routes that take an alert of severity sev about
// cluster and app, honouring the global and per-route minimum severity.
func (c *Config) RoutesFor(cluster, app string, sev Severity) []Route {
	if c == nil {
		return nil
	}
	var out []Route
	for _, r := range c.Routes {
		min := c.MinSeverity
		if r.MinSeverity != "" {
			min = r.MinSeverity
		}
		if sev.AtLeast(min) && r.Match.Matches(cluster, app) {
			out = append(out, r)
		}
	}
	return out
}

// Route returns the route called name.
func (c *Config) Route(name string) (Route, bool) {
	if c != nil {
		for _, r := range c.Routes {
			if r.Name == name {
				return r, true
			}
		}
	}
	return Route{}, false
}

func pathMatch(g string) (bool, error) { return path.Match(g, "") }
