package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/logging"
)

// Run serves the ingest handler on ln until ctx is done, then shuts down
// gracefully: it stops accepting, lets webhooks in flight finish their
// publish (bounded by Options.ShutdownTimeout) and returns nil. The logger
// of ctx is used for every request.
func Run(ctx context.Context, js jetstream.JetStream, ln net.Listener, opts Options) error {
	h, err := NewHandler(js, opts)
	if err != nil {
		return err
	}
	opts, _ = opts.withDefaults()
	log := logging.From(ctx)
	var enabled, disabled []string
	for name, p := range providers(opts) {
		if len(p.secret) > 0 {
			enabled = append(enabled, name)
		} else {
			disabled = append(disabled, name+" ("+p.flag+")")
		}
	}
	if len(enabled) == 0 {
		log.Warn("no webhook secret configured: every webhook will be refused with 401", "set", disabled)
	}
	// Requests keep the logger and values of ctx but not its cancellation:
	// a webhook in flight at shutdown still gets its publish acknowledged.
	base := context.WithoutCancel(ctx)
	srv := &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      opts.PublishTimeout + 60*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("ingest listening", "addr", ln.Addr().String(), "providers", enabled, "max_body_bytes", opts.MaxBodyBytes,
		"max_inflight_bytes", opts.MaxInflightBytes)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve webhooks: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve webhooks: %w", serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down webhook server: %w", err)
	}
	log.Info("ingest stopped")
	return nil
}
