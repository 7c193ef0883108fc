// Package natsserver runs an embedded nats-server with JetStream, for tests
// and the all-in-one ferry binary.
package natsserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures the embedded server.
type Options struct {
	// Host to bind; default 127.0.0.1.
	Host string
	// Port to bind; -1 picks a free port.
	Port int
	// StoreDir holds JetStream data; required.
	StoreDir string
	// Name of the server, shown in logs.
	Name string
	// Configure, when set, adjusts the server options before start (e.g.
	// users and permissions from pkg/natsauth).
	Configure func(*server.Options) error
}

// Start starts a JetStream-enabled nats-server and waits until it accepts
// connections. Stop it with Shutdown and WaitForShutdown.
func Start(opts Options) (*server.Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsserver: store dir is required")
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	so := &server.Options{
		ServerName: opts.Name,
		Host:       opts.Host,
		Port:       opts.Port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	}
	if opts.Configure != nil {
		if err := opts.Configure(so); err != nil {
			return nil, err
		}
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("create nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("nats server not ready after 10s")
	}
	return srv, nil
}
