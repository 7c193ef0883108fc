package web

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
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
	// EnvTrustedProxies is the default of --trusted-proxies.
	EnvTrustedProxies = "FERRY_DASHBOARD_TRUSTED_PROXIES"
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
	// TrustedProxies are the addresses of reverse proxies in front of the
	// dashboard. A request from one is attributed to the nearest address
	// in X-Forwarded-For that is not one of them, for the name recorded
	// with an action and for the login throttle; without any,
	// X-Forwarded-For is ignored, so it cannot be forged.
	TrustedProxies []netip.Prefix
	// TrustedProxyList is the --trusted-proxies flag, parsed into
	// TrustedProxies when those are not set.
	TrustedProxyList string
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
	fs.StringVar(&o.TrustedProxyList, "trusted-proxies", envOr(EnvTrustedProxies, o.TrustedProxyList),
		"comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (env "+EnvTrustedProxies+")")
}

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes, such as "10.0.0.0/8, 127.0.0.1".
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
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
	if len(o.TrustedProxies) == 0 && o.TrustedProxyList != "" {
		p, err := ParseProxies(o.TrustedProxyList)
		if err != nil {
			return o, err
		}
		o.TrustedProxies = p
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
