package bundle

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ferrycd/ferry/pkg/natstest"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// LoadMax returns inline and stored bundles whole, and refuses one over
// its limit before reading it; Size reports the size without reading.
func TestLoadMax(t *testing.T) {
	_, _, js := natstest.JetStream(t)
	for _, size := range []int{10, InlineLimit + 1, 3*InlineLimit + 7} {
		data := bytes.Repeat([]byte("a: b\n"), size/5+1)[:size]
		ds := &ferryv1.DesiredState{App: "app", Cluster: "c1"}
		if err := Attach(t.Context(), js, ds, data); err != nil {
			t.Fatal(err)
		}
		if stored := ds.GetBundle() != ""; stored != (size > InlineLimit) {
			t.Errorf("%d bytes: stored %v", size, stored)
		}
		if n, err := Size(t.Context(), js, ds); err != nil || n != int64(size) {
			t.Errorf("%d bytes: Size = %d, %v", size, n, err)
		}
		for _, max := range []int64{0, int64(size)} {
			got, err := LoadMax(t.Context(), js, ds, max)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%d bytes, limit %d: %d bytes, %v; want the bundle", size, max, len(got), err)
			}
		}
		if _, err := LoadMax(t.Context(), js, ds, int64(size-1)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d bytes, limit one less: %v, want ErrTooLarge", size, err)
		}
	}
}
