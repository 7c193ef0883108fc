// Command ferry-nats-users writes the central NATS server's users file
// (deploy/kubernetes/nats/auth.conf) for the given remote clusters, creating
// each worker's nkey seed in -seeds on first use:
//
//	go run ./test/deploy/cmd/ferry-nats-users -seeds ~/.config/ferry/nkeys edge-1 edge-2 > deploy/kubernetes/nats/auth.conf
//
// The seed <seeds>/<cluster>.nk goes into that cluster's Secret
// ferry-apply-nkey (deploy/README.md); the users file holds only public keys.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ferrycd/ferry/test/deploy"
)

func main() {
	seeds := flag.String("seeds", "", "directory of the workers' nkey seeds, <cluster>.nk (created when missing; keep it private)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ferry-nats-users -seeds DIR [cluster...] > deploy/kubernetes/nats/auth.conf")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *seeds == "" {
		flag.Usage()
		os.Exit(2)
	}
	workers, err := deploy.WorkerSeeds(*seeds, flag.Args())
	if err == nil {
		err = deploy.WriteAuthConf(os.Stdout, workers)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry-nats-users:", err)
		os.Exit(1)
	}
}
