package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ferrycd/ferry/pkg/natsauth"
)

// nkeys serves `ferry nkeys --out DIR [--for-containers] CLUSTER...`: it
// writes each NATS identity's seed into DIR (kept when it exists), and
// DIR/auth.conf, the server's users file with every identity's public key
// and permissions (pkg/natsauth).
func nkeys(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nkeys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory of the seeds and auth.conf (created 0700; keep it private)")
	containers := fs.Bool("for-containers", false, "make the seed files readable by any user (0644) so a container's non-root user reads its bind-mounted seed; the directory stays 0700, so other users of this host still cannot")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ferry nkeys --out DIR [--for-containers] CLUSTER...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return exitCode(2)
	}
	set, err := natsauth.LoadSeeds(*out, fs.Args())
	if err != nil {
		return fmt.Errorf("nkeys: %w", err)
	}
	var conf bytes.Buffer
	if err := natsauth.WriteAuthConf(&conf, set.Users()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "auth.conf"), conf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("nkeys: %w", err)
	}
	if *containers {
		seeds, err := filepath.Glob(filepath.Join(*out, "*.nk"))
		if err != nil {
			return err
		}
		more, _ := filepath.Glob(filepath.Join(*out, natsauth.ServicesSeedDir, "*.nk"))
		for _, s := range append(seeds, more...) {
			if err := os.Chmod(s, 0o644); err != nil {
				return fmt.Errorf("nkeys: %w", err)
			}
		}
	}
	fmt.Fprintf(stdout, "wrote %s/auth.conf: %d identities; seeds in %s/%s/<identity>.nk and %s/<cluster>.nk\n",
		*out, len(set.Users()), *out, natsauth.ServicesSeedDir, *out)
	return nil
}
