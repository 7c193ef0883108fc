// Package logging builds Ferry's slog loggers (JSON by default) and carries
// a logger in a context with the fields of the work at hand.
package logging

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Options selects level and format; bind them to flags with BindFlags.
type Options struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is json or text.
	Format string
}

// BindFlags registers --log-level and --log-format, defaulting to
// FERRY_LOG_LEVEL and FERRY_LOG_FORMAT from the environment.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Level, "log-level", envOr("FERRY_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.StringVar(&o.Format, "log-format", envOr("FERRY_LOG_FORMAT", "json"), "log format: json or text")
}

// New builds a logger writing to w.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(orDefault(o.Level, "info"))); err != nil {
		return nil, fmt.Errorf("log level %q: %w", o.Level, err)
	}
	ho := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(orDefault(o.Format, "json")) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	default:
		return nil, fmt.Errorf("log format %q: use json or text", o.Format)
	}
}

type ctxKey struct{}

// Into returns ctx carrying l.
func Into(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the logger in ctx, or slog.Default().
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// With returns ctx whose logger has args added.
func With(ctx context.Context, args ...any) context.Context {
	return Into(ctx, From(ctx).With(args...))
}

// Discard is a logger that writes nothing, for tests and benchmarks.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Stderr builds a logger on os.Stderr, falling back to JSON/info on bad options.
func Stderr(o Options) *slog.Logger {
	l, err := New(os.Stderr, o)
	if err != nil {
		l, _ = New(os.Stderr, Options{})
		l.Warn("bad log options, using json/info", "error", err)
	}
	return l
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
