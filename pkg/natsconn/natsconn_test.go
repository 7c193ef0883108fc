package natsconn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/ferrycd/ferry/pkg/logging/logtest"
	"github.com/ferrycd/ferry/pkg/natsauth"
	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/stream"
	"github.com/ferrycd/ferry/pkg/subject"
)

// waitFor waits until logs hold every one of want.
func waitFor(t *testing.T, logs *logtest.Buffer, want ...string) {
	t.Helper()
	for _, w := range want {
		logs.WaitFor(t, w, 5*time.Second)
	}
}

func logCtx(t *testing.T) (context.Context, *logtest.Buffer) {
	logs := &logtest.Buffer{}
	return logs.Context(t.Context()), logs
}

func TestConflictingCredentialsAreAnError(t *testing.T) {
	for _, o := range []natsconn.Options{
		{URL: "nats://admin:s3cret@127.0.0.1:1", NkeySeed: "/x/seed"},
		{URL: "nats://127.0.0.1:1", NkeySeed: "/x/seed", CredsFile: "/x/creds"},
		{URL: "nats://tok3n@127.0.0.1:1", CredsFile: "/x/creds"},
	} {
		_, _, err := natsconn.Connect(t.Context(), "ferry-test", o)
		if err == nil || !strings.Contains(err.Error(), "conflicting NATS credentials") {
			t.Errorf("%+v: err %v, want conflicting credentials", o, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("error prints the secret: %v", err)
		}
	}
	if err := (natsconn.Options{URL: "nats://127.0.0.1:1", NkeySeed: "/x/seed"}).Validate(); err != nil {
		t.Errorf("one identity: %v", err)
	}
}

func TestRefusedLoginIsLoggedAsSuch(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	// A well-formed seed the server does not know.
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := natsauth.ServiceFromKey(natsauth.Ingest, kp)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/ingest.nk"
	if err := stranger.WriteSeedFile(path); err != nil {
		t.Fatal(err)
	}
	ctx, logs := logCtx(t)
	nc, _, err := natsconn.Connect(ctx, "ferry-ingest", natsconn.Options{URL: srv.ClientURL(), NkeySeed: path})
	if err == nil {
		defer nc.Close()
	}
	waitFor(t, logs, "nats refused the login", "ferry-ingest (nkey seed "+path+")", "uthorization")
}

func TestPermissionViolationIsLogged(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	path := t.TempDir() + "/operator-read.nk"
	if err := set.Services[natsauth.OperatorRead].WriteSeedFile(path); err != nil {
		t.Fatal(err)
	}
	ctx, logs := logCtx(t)
	nc, _, err := natsconn.Connect(ctx, "ferry-cli", natsconn.Options{URL: srv.ClientURL(), NkeySeed: path})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Its inbox is the one its permissions allow: a request gets no
	// violation for the reply subscription.
	if !strings.HasPrefix(nc.NewRespInbox(), subject.IdentityInboxPrefix(set.Services[natsauth.OperatorRead].PublicKey)+".") {
		t.Errorf("inbox %s is not the identity's", nc.NewRespInbox())
	}
	if err := nc.Publish(subject.Command("a", "web", subject.VerbSync), nil); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	waitFor(t, logs, "nats denied a subject to this identity", "ferry-cli (nkey seed "+path+")", "ferry.cmd.a.web.sync")
}

func TestWaitForSetupWaitsForRender(t *testing.T) {
	set, err := natsauth.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauth.StartForTest(t, set)
	dir := t.TempDir()
	conn := func(name string) jetstream.JetStream {
		path := dir + "/" + name + ".nk"
		if err := set.Services[name].WriteSeedFile(path); err != nil {
			t.Fatal(err)
		}
		nc, js, err := natsconn.Connect(t.Context(), "ferry-"+name, natsconn.Options{URL: srv.ClientURL(), NkeySeed: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return js
	}
	reader, render := conn(natsauth.OperatorRead), conn(natsauth.Render)
	done := make(chan error, 1)
	go func() {
		done <- natsconn.WaitForSetup(t.Context(), reader, []string{subject.StreamStatus, subject.StreamDrift}, []string{subject.BucketApps})
	}()
	select {
	case err := <-done:
		t.Fatalf("returned before the streams existed: %v", err)
	default:
	}
	if err := stream.Ensure(t.Context(), render, stream.Options{Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after render set up the streams")
	}
}
