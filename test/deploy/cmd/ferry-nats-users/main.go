// Command ferry-nats-users writes the central NATS server's users file
// (deploy/kubernetes/nats/auth.conf): an nkey identity per central
// service (ingest, render, drift, operator-read, operator) and one per
// apply worker of the given clusters (the in-cluster worker's too),
// creating each seed in -seeds on first use and keeping it after:
//
//	go run ./test/deploy/cmd/ferry-nats-users -seeds ~/.config/ferry/nkeys local edge-1 > deploy/kubernetes/nats/auth.conf
//
// The seeds are <seeds>/services/<identity>.nk and <seeds>/<cluster>.nk;
// each goes into its Secret (deploy/README.md). The users file holds only
// public keys.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ferrycd/ferry/pkg/natsauth"
)

func main() {
	seeds := flag.String("seeds", "", "directory of the nkey seeds (created when missing; keep it private)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ferry-nats-users -seeds DIR cluster... > deploy/kubernetes/nats/auth.conf")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *seeds == "" {
		flag.Usage()
		os.Exit(2)
	}
	set, err := natsauth.LoadSeeds(*seeds, flag.Args())
	if err == nil {
		err = natsauth.WriteAuthConf(os.Stdout, set.Users())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry-nats-users:", err)
		os.Exit(1)
	}
}
