package webhook

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReadBodyReusesBuffers: bodies with and without a content length,
// read one after another into recycled buffers, come back intact, and a
// chunked body over the limit is ErrTooLarge.
func TestReadBodyReusesBuffers(t *testing.T) {
	for i, size := range []int{6 << 10, 10, 40 << 10, 0, 300 << 10, 7} {
		want := bytes.Repeat([]byte{byte('a' + i)}, size)
		for _, chunked := range []bool{false, true} {
			var body io.Reader = bytes.NewReader(want)
			if chunked {
				body = io.MultiReader(body) // hides the length
			}
			r := httptest.NewRequest(http.MethodPost, "/webhooks/github", body)
			got, release, err := readBody(httptest.NewRecorder(), r, 1<<20)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("size %d chunked %v: %d bytes, %v", size, chunked, len(got), err)
			}
			release()
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/github", io.MultiReader(bytes.NewReader(make([]byte, 2048))))
	_, release, err := readBody(httptest.NewRecorder(), r, 1024)
	release()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("chunked body over the limit: %v, want ErrTooLarge", err)
	}
}
