package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testLimits(max, inflight int64) bodyLimits {
	return bodyLimits{max: max, mem: newBodyMem(inflight), wait: 50 * time.Millisecond}
}

// TestReadBodyReusesBlocks: bodies with and without a content length,
// read one after another into reused blocks, come back intact with their
// HMAC computed on the way, give back all they reserved, and never make
// more blocks than the budget has.
func TestReadBodyReusesBlocks(t *testing.T) {
	lim := testLimits(1<<20, 1<<20)
	sizes := []int{6 << 10, 10, blockSize, blockSize + 1, 40 << 10, 0, 300 << 10, 7, 1 << 20, 1<<20 - 1}
	for i, size := range sizes {
		want := bytes.Repeat([]byte{byte('a' + i)}, size)
		for j := range want {
			want[j] += byte(j % 7) // a block boundary off by one would show
		}
		for _, chunked := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(want)
			if chunked {
				src = io.MultiReader(src) // hides the length
			}
			r := httptest.NewRequest(http.MethodPost, "/webhooks/github", src)
			mac := hmac.New(sha256.New, []byte("k"))
			b, err := readBody(context.Background(), httptest.NewRecorder(), r, lim, mac)
			if err != nil {
				t.Fatalf("size %d chunked %v: %v", size, chunked, err)
			}
			if reserved, _ := lim.mem.stats(); reserved*blockSize < size {
				t.Fatalf("size %d chunked %v: %d blocks reserved while holding the body", size, chunked, reserved)
			}
			if wantMAC := hmacHex("k", want); hex.EncodeToString(mac.Sum(nil)) != wantMAC {
				t.Fatalf("size %d chunked %v: hmac computed while reading differs", size, chunked)
			}
			if got := b.bytes(); !bytes.Equal(got, want) || !bytes.Equal(b.bytes(), want) {
				t.Fatalf("size %d chunked %v: got %d bytes, not the body", size, chunked, len(got))
			}
			b.release()
			b.release() // idempotent
			if reserved, allocated := lim.mem.stats(); reserved != 0 || allocated > lim.mem.total {
				t.Fatalf("size %d chunked %v: %d blocks reserved after release, %d of %d allocated", size, chunked, reserved, allocated, lim.mem.total)
			}
		}
	}
	if _, allocated := lim.mem.stats(); allocated != blocksFor(1<<20) {
		t.Fatalf("%d blocks allocated for bodies of at most 1 MiB read one at a time, want %d", allocated, blocksFor(1<<20))
	}

	r := httptest.NewRequest(http.MethodPost, "/webhooks/github", io.MultiReader(bytes.NewReader(make([]byte, 2048))))
	b, err := readBody(context.Background(), httptest.NewRecorder(), r, testLimits(1024, 1024), nil)
	b.release()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("chunked body over the limit: %v, want ErrTooLarge", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(make([]byte, 2048)))
	b, err = readBody(context.Background(), httptest.NewRecorder(), r, testLimits(1024, 1024), nil)
	b.release()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "content length 2048") {
		t.Fatalf("stated length over the limit: %v, want ErrTooLarge from the length", err)
	}
	// A chunked body of exactly the limit fits a budget of exactly the
	// limit; one byte more is too large.
	for _, n := range []int{4 * blockSize, 4*blockSize + 1} {
		lim := testLimits(4*blockSize, 4*blockSize)
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", io.MultiReader(bytes.NewReader(make([]byte, n))))
		b, err := readBody(context.Background(), httptest.NewRecorder(), r, lim, nil)
		got := len(b.bytes())
		b.release()
		if ok := n == 4*blockSize; ok != (err == nil && got == n) || !ok && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("chunked body of %d bytes with a limit of %d: %d bytes, %v", n, 4*blockSize, got, err)
		}
		if reserved, _ := lim.mem.stats(); reserved != 0 {
			t.Fatal("blocks reserved after release")
		}
	}
	// A body shorter than its stated length is malformed.
	r = httptest.NewRequest(http.MethodPost, "/webhooks/github", io.MultiReader(strings.NewReader("short")))
	r.ContentLength = 100
	b, err = readBody(context.Background(), httptest.NewRecorder(), r, testLimits(1024, 1024), nil)
	b.release()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated body: %v, want ErrMalformed", err)
	}
}

// TestReadBodyWaitsForRoom: a body that finds the budget full waits, gets
// ErrBusy when no room frees up in time and then reads nothing; small
// bodies go ahead of a large one waiting, which is read once room frees up.
func TestReadBodyWaitsForRoom(t *testing.T) {
	lim := testLimits(1<<20, 1<<20)
	all := lim.mem.total
	if !lim.mem.tryReserve(all) {
		t.Fatal("empty budget refused")
	}
	src := &countingReader{r: bytes.NewReader(make([]byte, 100<<10))}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/github", src)
	r.ContentLength = 100 << 10
	start := time.Now()
	b, err := readBody(context.Background(), httptest.NewRecorder(), r, lim, nil)
	b.release()
	if !errors.Is(err, ErrBusy) || statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("full budget: %v, want ErrBusy (503)", err)
	}
	if d := time.Since(start); d < lim.wait {
		t.Fatalf("gave up after %s, before the wait of %s", d, lim.wait)
	}
	if src.n != 0 {
		t.Fatalf("read %d bytes of a body that found no room", src.n)
	}

	// Half the budget taken: a 900 KiB body cannot fit, a 4 KiB one can.
	lim.mem.release(all, nil)
	lim.mem.tryReserve(all / 2)
	lim.wait = 5 * time.Second
	bigDone := make(chan error, 1)
	go func() {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(make([]byte, 900<<10)))
		b, err := readBody(context.Background(), httptest.NewRecorder(), r, lim, nil)
		b.release()
		bigDone <- err
	}()
	waitFor(t, func() bool { lim.mem.mu.Lock(); defer lim.mem.mu.Unlock(); return lim.mem.waiters == 1 })
	small := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader(strings.Repeat("x", 4<<10)))
	b, err = readBody(context.Background(), httptest.NewRecorder(), small, lim, nil)
	b.release()
	if err != nil {
		t.Fatalf("small body behind a waiting large one: %v", err)
	}
	lim.mem.release(all/2, nil)
	if err := <-bigDone; err != nil {
		t.Fatalf("large body after room freed up: %v", err)
	}
	if reserved, _ := lim.mem.stats(); reserved != 0 {
		t.Fatalf("%d blocks reserved at the end", reserved)
	}
}

// TestBodyMem checks reserve, tryReserve and release under contention:
// the blocks reserved and allocated never exceed the total.
func TestBodyMem(t *testing.T) {
	m := newBodyMem(100 * blockSize)
	if m.total != 100 || newBodyMem(1).total != 1 || newBodyMem(blockSize+1).total != 2 {
		t.Fatal("the budget is not rounded up to blocks")
	}
	if !m.tryReserve(60) || m.tryReserve(41) || !m.tryReserve(40) {
		t.Fatal("tryReserve does not add up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	if m.reserve(ctx, 1) {
		t.Fatal("reserve on a full budget succeeded")
	}
	cancel()
	m.release(100, nil)
	done := make(chan struct{})
	for i := 0; i < 50; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			n := 1 + i%40
			if !m.reserve(context.Background(), n) {
				t.Error("reserve without deadline failed")
				return
			}
			var blocks [][]byte
			for j := 0; j < n; j++ {
				blocks = append(blocks, m.get())
			}
			if reserved, allocated := m.stats(); reserved > m.total || allocated > m.total {
				t.Errorf("%d reserved, %d allocated, of %d", reserved, allocated, m.total)
			}
			time.Sleep(time.Millisecond)
			m.release(n, blocks)
		}()
	}
	for i := 0; i < 50; i++ {
		<-done
	}
	if reserved, allocated := m.stats(); reserved != 0 || allocated > m.total {
		t.Fatalf("%d reserved, %d allocated at the end", reserved, allocated)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
