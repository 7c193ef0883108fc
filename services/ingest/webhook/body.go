package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Body buffers are recycled: a webhook's body is dead once it is verified
// and parsed (parsing copies every string it keeps), and a fresh 6 KB
// buffer per request was a quarter of the bytes ingest allocated.
const (
	// bodyBufSize is the capacity a new pooled buffer starts with.
	bodyBufSize = 16 << 10
	// maxPooledBody keeps a rare large body from pinning its buffer.
	maxPooledBody = 256 << 10
)

var bodyPool = sync.Pool{New: func() any {
	b := make([]byte, 0, bodyBufSize)
	return &b
}}

// readBody reads the whole body once, at most limit bytes, into a pooled
// buffer. The caller must call release when it no longer uses the bytes,
// also after an error.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (data []byte, release func(), err error) {
	if r.ContentLength > limit {
		return nil, func() {}, fmt.Errorf("%w: content length %d exceeds %d bytes", ErrTooLarge, r.ContentLength, limit)
	}
	buf := bodyPool.Get().(*[]byte)
	release = func() {
		if cap(*buf) <= maxPooledBody {
			*buf = (*buf)[:0]
			bodyPool.Put(buf)
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength > 0 {
		if int64(cap(*buf)) < r.ContentLength {
			*buf = make([]byte, 0, r.ContentLength)
		}
		data = (*buf)[:r.ContentLength]
		_, err = io.ReadFull(body, data)
	} else {
		data, err = readAll(body, (*buf)[:0])
	}
	*buf = data[:0]
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, release, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, limit)
	case err != nil:
		return nil, release, fmt.Errorf("%w: read body: %w", ErrMalformed, err)
	}
	return data, release, nil
}

// readAll is io.ReadAll appending to b, for bodies without a length.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
