package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// bodyLimits are what reading one body may take.
type bodyLimits struct {
	// max is the largest body accepted (Options.MaxBodyBytes).
	max int64
	// mem holds the bytes of all bodies being read, verified and parsed
	// at once, and wait bounds how long a body waits for room in it
	// (Options.MaxInflightBytes and Options.InflightWait).
	mem  *bodyMem
	wait time.Duration
}

// body is a webhook body read into blocks of bodyMem.
type body struct {
	mem      *bodyMem
	ctx      context.Context
	wait     time.Duration
	max      int64
	blocks   [][]byte // got from mem, each blockSize long
	inline   [1][]byte
	reserved int    // blocks reserved, at least len(blocks)
	n        int64  // bytes read
	flat     []byte // the bytes in one piece, once bytes was called
}

// readBody reads the whole body once, at most lim.max bytes, writing it to
// mac (when not nil) as it goes. It reads into blocks of lim.mem reserved
// before any byte is read: all of them at once when the request states its
// length, one by one when it does not. A body that finds no room within
// lim.wait is ErrBusy (503, the host retries) and no more of it is read
// into memory; a stated length over lim.max is ErrTooLarge before any of
// it is. (The handler then discards the rest: handler.drain.)
//
// The caller must call release when it no longer uses the body, also
// after an error; release may be called more than once.
func readBody(ctx context.Context, w http.ResponseWriter, r *http.Request, lim bodyLimits, mac io.Writer) (*body, error) {
	b := &body{mem: lim.mem, ctx: ctx, wait: lim.wait, max: lim.max}
	b.blocks = b.inline[:0] // a usual body takes one block: no slice to allocate
	if r.ContentLength > lim.max {
		return b, fmt.Errorf("%w: content length %d exceeds %d bytes", ErrTooLarge, r.ContentLength, lim.max)
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, lim.max)
	if mac != nil {
		src = io.TeeReader(src, mac)
	}
	err := b.read(src, r.ContentLength)
	switch {
	case err == nil, errors.Is(err, ErrBusy):
	case isMaxBytes(err):
		err = fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, lim.max)
	default:
		err = fmt.Errorf("%w: read body: %w", ErrMalformed, err)
	}
	return b, err
}

// isMaxBytes reports whether err is http.MaxBytesReader's.
func isMaxBytes(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

// read fills blocks from src: length bytes when length >= 0, else up to
// EOF (src enforces the limit).
func (b *body) read(src io.Reader, length int64) error {
	if length >= 0 {
		if err := b.reserve(blocksFor(length)); err != nil {
			return err
		}
	}
	for {
		if length >= 0 && b.n == length {
			return nil
		}
		off := int(b.n % blockSize)
		if off == 0 {
			if b.n >= b.max {
				// At the limit of a body without a length: src (limited
				// to max) has nothing more than EOF or the error to give,
				// no block is needed to find out which.
				var one [1]byte
				for {
					n, err := src.Read(one[:])
					switch {
					case n > 0:
						return &http.MaxBytesError{Limit: b.max}
					case err == io.EOF:
						return nil
					case err != nil:
						return err
					}
				}
			}
			if len(b.blocks) == b.reserved {
				if err := b.reserve(1); err != nil {
					return err
				}
			}
			b.blocks = append(b.blocks, b.mem.get())
		}
		blk := b.blocks[len(b.blocks)-1]
		end := blockSize
		if length >= 0 {
			end = int(min(int64(blockSize), length-(b.n-int64(off))))
		}
		n, err := src.Read(blk[off:end])
		b.n += int64(n)
		switch {
		case err == io.EOF && length >= 0 && b.n < length:
			return io.ErrUnexpectedEOF
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// reserve takes n more blocks of the budget, at once when they are free,
// else waiting at most b.wait.
func (b *body) reserve(n int) error {
	if n <= 0 {
		return nil
	}
	if !b.mem.tryReserve(n) {
		ctx, cancel := context.WithTimeout(b.ctx, b.wait)
		ok := b.mem.reserve(ctx, n)
		cancel()
		if !ok {
			return fmt.Errorf("%w: no room for %d more body bytes within %s (%d in flight at most)",
				ErrBusy, n*blockSize, b.wait, b.mem.total*blockSize)
		}
	}
	b.reserved += n
	return nil
}

// bytes returns the body in one piece. A body of one block is a view of
// it, valid until release; a larger one is copied out, once, into memory
// of its own and its blocks are released at once: call bytes only on a
// verified body, so that only signed bodies ever cost memory outside the
// budget.
func (b *body) bytes() []byte {
	switch {
	case b.flat != nil || b.n == 0:
	case len(b.blocks) == 1:
		b.flat = b.blocks[0][:b.n]
	default:
		b.flat = make([]byte, 0, b.n)
		for _, blk := range b.blocks {
			b.flat = append(b.flat, blk[:min(int64(blockSize), b.n-int64(len(b.flat)))]...)
		}
		b.releaseBlocks()
	}
	return b.flat
}

// release gives back the blocks and the reservation. It is idempotent.
func (b *body) release() {
	b.releaseBlocks()
	b.flat = nil
}

func (b *body) releaseBlocks() {
	if b.reserved > 0 {
		b.mem.release(b.reserved, b.blocks)
	}
	b.blocks, b.reserved = nil, 0
}
