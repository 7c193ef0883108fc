//go:build pprof

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/ferrycd/ferry/pkg/logging"
)

// debugOptions are the flags of a worker built with -tags pprof.
type debugOptions struct {
	// pprofAddr serves runtime profiles when set.
	pprofAddr string
}

// bindDebugFlags registers --pprof-addr.
func (d *debugOptions) bindDebugFlags(fs *flag.FlagSet) {
	fs.StringVar(&d.pprofAddr, "pprof-addr", os.Getenv("FERRY_PPROF_ADDR"), "serve Go runtime profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; off when empty")
}

// startDebug serves Go's runtime profiles on --pprof-addr until ctx is
// done. Bind it to loopback: profiles show the process's internals.
func (d *debugOptions) startDebug(ctx context.Context) error {
	if d.pprofAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", d.pprofAddr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log := logging.From(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "error", err)
		}
	}()
	log.Info("serving pprof", "addr", ln.Addr().String())
	return nil
}
