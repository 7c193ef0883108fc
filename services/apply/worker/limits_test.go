package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// bigConfigMaps is n ConfigMaps of about size bytes each, named <prefix>-<i>.
func bigConfigMaps(prefix string, n, size int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%d\ndata:\n  v: %q\n", prefix, i, strings.Repeat("x", size))
	}
	return []byte(b.String())
}

// A desired state over the worker's --max-bundle-bytes, in the object
// store or inside the message, is refused before it is read or decoded:
// a FAILED result that says why, the message terminated, nothing applied,
// and the worker goes on applying other apps.
func TestOversizeDesiredStateIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		limit int64
		data  []byte
		msg   string
		// revision is the result's: a message refused undecoded has none.
		revision string
	}{
		{"in the object store", 600 << 10, bigConfigMaps("big", 7, 100<<10), "the bundle of big at r1 is", "r1"},
		{"inside the message", 4 << 10, bigConfigMaps("big", 3, 2<<10), "the desired state message is", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.startWorkerWith(nil, Options{MaxBundleBytes: tc.limit, HealthTimeout: -1})
			ns := "oversize-" + strings.ReplaceAll(tc.name, " ", "-")
			ds := e.publish("big", ns, "r1", tc.data)
			r := e.result(30 * time.Second)
			wantPhase(t, r, tc.revision, ferryv1.Phase_PHASE_FAILED)
			if r.GetApp() != "big" {
				t.Errorf("result for app %q, want big", r.GetApp())
			}
			for _, want := range []string{tc.msg, "bundle too large", fmt.Sprint(tc.limit), "--max-bundle-bytes", "--max-rendered-bytes"} {
				if !strings.Contains(r.GetMessage(), want) {
					t.Errorf("message %q lacks %q", r.GetMessage(), want)
				}
			}
			if tc.limit > 512<<10 && ds.GetBundle() == "" {
				t.Fatalf("the case meant to use the object store carries its manifests inline")
			}
			e.settled()
			e.noResult(2 * retryInitial)
			if info := e.consumerInfo(); info.NumRedelivered != 0 || info.NumAckPending != 0 {
				t.Errorf("consumer redelivered %d, ack pending %d; want 0, 0", info.NumRedelivered, info.NumAckPending)
			}
			var cm corev1.ConfigMap
			if err := e.kube.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "big-0"}, &cm); err == nil {
				t.Errorf("an object of the refused state exists in the cluster")
			}
			// Still alive and applying.
			e.publish("small", ns, "r2", append([]byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n"), bigConfigMaps("small", 1, 10)...))
			wantPhase(t, e.result(30*time.Second), "r2", ferryv1.Phase_PHASE_SUCCEEDED)
		})
	}
}

// The byte budget lets bundles through up to its size at once; a bundle
// waits until enough is released, or its context ends.
func TestByteBudget(t *testing.T) {
	b := newByteBudget(100)
	r1, err := b.acquire(t.Context(), 60)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.acquire(t.Context(), 40)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire over the budget = %v, want it to wait until its context ends", err)
	}
	got := make(chan error, 1)
	go func() {
		// More than the whole budget takes the whole budget.
		r, err := b.acquire(t.Context(), 500)
		if err == nil {
			r()
		}
		got <- err
	}()
	r1()
	r1() // a second release gives nothing back twice
	select {
	case err := <-got:
		t.Fatalf("acquire of the whole budget returned %v while 40 bytes were held", err)
	case <-time.After(100 * time.Millisecond):
	}
	r2()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("acquire of the whole budget did not return after everything was released")
	}
	if r, err := newByteBudget(0).acquire(t.Context(), 1<<40); err != nil {
		t.Errorf("a budget of no bound refused: %v", err)
	} else {
		r()
	}
}
