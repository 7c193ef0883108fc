package dev

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
)

// operatorSeed is the state directory file holding the operator's nkey
// seed, which the banner tells the CLI to use.
const operatorSeed = "nats-operator.nk"

// workerConn is the apply worker's key in conns.
const workerConn = "worker"

// conns are the quickstart's NATS connections, one per identity: each
// central identity by its natsauth name, the worker as workerConn.
type conns struct {
	nc map[string]*nats.Conn
	js map[string]jetstream.JetStream
}

// connectAll connects as every central identity of users that runs in
// this process (ingest, render, drift and the operator for the dashboard
// and the status lines) and as cluster's worker.
func connectAll(ctx context.Context, url string, users *natsauth.Set, cluster string) (*conns, error) {
	c := &conns{nc: map[string]*nats.Conn{}, js: map[string]jetstream.JetStream{}}
	worker, err := users.Worker(cluster)
	if err != nil {
		return nil, err
	}
	who := map[string]*natsauth.User{workerConn: worker}
	for _, name := range []string{natsauth.Ingest, natsauth.Render, natsauth.Drift, natsauth.Operator} {
		if who[name], err = users.Service(name); err != nil {
			return nil, err
		}
	}
	for key, u := range who {
		nc, js, err := natsconn.Connect(ctx, "ferry-dev-"+u.Name, natsconn.Options{URL: url}, u.ConnectOptions()...)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("connect as %s: %w", u.Name, err)
		}
		c.nc[key], c.js[key] = nc, js
	}
	return c, nil
}

// close closes every connection.
func (c *conns) close() {
	for _, nc := range c.nc {
		nc.Close()
	}
}
