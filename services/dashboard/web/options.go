package web

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// Environment variables the dashboard's flags default to.
const (
	// EnvAddr is the default of --dashboard-addr.
	EnvAddr = "FERRY_DASHBOARD_ADDR"
	// EnvOperatorToken holds the operator token itself, when no file is given.
	EnvOperatorToken = "FERRY_OPERATOR_TOKEN"
	// EnvOperatorTokenFile is the default of --operator-token-file.
	EnvOperatorTokenFile = "FERRY_OPERATOR_TOKEN_FILE"
)

// Options configures the dashboard.
type Options struct {
	// Addr is the listen address of the HTTP server.
	Addr string
	// OperatorToken enables operator actions (sync, rollback, suspend,
	// resume) for browsers that log in with it; empty keeps the dashboard
	// read-only.
	OperatorToken string
	// TokenFile is read into OperatorToken by LoadToken.
	TokenFile string
	// Heartbeat is how often an idle event stream sends a comment, so
	// proxies and browsers keep it open.
	Heartbeat time.Duration
	// ShutdownTimeout bounds the graceful shutdown of the HTTP server.
	ShutdownTimeout time.Duration
	// CommandTimeout bounds waiting for a worker's answer to an action.
	CommandTimeout time.Duration
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
}

// DefaultOptions returns the defaults: loopback only, read-only.
func DefaultOptions() Options {
	return Options{
		Addr:            "127.0.0.1:8090",
		Heartbeat:       15 * time.Second,
		ShutdownTimeout: 5 * time.Second,
		CommandTimeout:  20 * time.Second,
		SessionTTL:      12 * time.Hour,
	}
}

// BindFlags registers the dashboard's flags; each defaults to its
// FERRY_* environment variable. The token itself is never a flag, so it
// does not show in a process listing.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "dashboard-addr", envOr(EnvAddr, o.Addr), "dashboard listen address (env "+EnvAddr+")")
	fs.StringVar(&o.TokenFile, "operator-token-file", envOr(EnvOperatorTokenFile, o.TokenFile),
		"file holding the operator token that enables sync, rollback, suspend and resume; empty reads "+EnvOperatorToken+", unset is read-only (env "+EnvOperatorTokenFile+")")
}

// LoadToken sets OperatorToken from TokenFile, else from the environment
// variable FERRY_OPERATOR_TOKEN when OperatorToken is still empty.
func (o *Options) LoadToken() error {
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return fmt.Errorf("read operator token: %w", err)
		}
		o.OperatorToken = strings.TrimSpace(string(b))
		if o.OperatorToken == "" {
			return fmt.Errorf("operator token file %s is empty", o.TokenFile)
		}
		return nil
	}
	if o.OperatorToken == "" {
		o.OperatorToken = strings.TrimSpace(os.Getenv(EnvOperatorToken))
	}
	return nil
}

// withDefaults fills zero durations and checks the token.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.Heartbeat <= 0 {
		o.Heartbeat = d.Heartbeat
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = d.ShutdownTimeout
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = d.CommandTimeout
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = d.SessionTTL
	}
	if o.OperatorToken != "" && len(o.OperatorToken) < 16 {
		return o, errors.New("operator token is shorter than 16 characters: use a long random one, e.g. openssl rand -hex 24")
	}
	return o, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
