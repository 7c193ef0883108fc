package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ferrycd/ferry/pkg/pushhook"
)

// notify is a git post-receive hook: each "<old> <new> <ref>" line on stdin
// becomes a signed push webhook, as a Git host would send it.
func notify(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	provider := fs.String("provider", pushhook.GitHub, "payload format: github, gitea or gitlab")
	url := fs.String("url", "http://127.0.0.1:8080/webhooks/github", "ingest webhook URL")
	secretFile := fs.String("secret-file", "", "file holding the webhook secret")
	cloneURL := fs.String("clone-url", "", "clone URL of this repository")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secretFile == "" || *cloneURL == "" {
		return fmt.Errorf("notify needs --secret-file and --clone-url")
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("read webhook secret: %w", err)
	}
	client := &http.Client{Timeout: 15 * time.Second}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		p := pushhook.Push{CloneURL: *cloneURL, Before: f[0], After: f[1], Ref: f[2], Pusher: os.Getenv("USER")}
		if err := pushhook.Send(ctx, client, *provider, *url, strings.TrimSpace(string(secret)), p); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "ferry: webhook sent for %s %s\n", f[2], f[1][:min(8, len(f[1]))])
	}
	return sc.Err()
}
