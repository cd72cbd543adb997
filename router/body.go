package router

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// errBodyTooLarge ends a request body over the app's limit.
var errBodyTooLarge = errors.New("request body too large")

// body is a request body on its way to the backend: it enforces the
// body limit and remembers why reading it failed, so that a client's bad
// or oversized body is told apart from a backend's failure.
type body struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed; negative for no limit

	mu  sync.Mutex // Read runs on the transport's goroutine
	err error
}

func (b *body) Read(p []byte) (int, error) {
	if b.left >= 0 && int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if b.left >= 0 {
		if int64(n) > b.left {
			n, err = int(b.left), errBodyTooLarge
		}
		b.left -= int64(n)
	}
	if err != nil && err != io.EOF {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// failure is the error reading the body ended with, nil if none.
func (b *body) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// aheadSize is how much of a request body of unknown length (a chunked
// one) is read before the request goes to an instance.
const aheadSize = 64 << 10

// readAhead reads a body of unknown length before the request is sent, as
// nginx's request buffering does, up to aheadSize bytes. A body that ends
// within them goes to the instance whole, with a Content-Length, so app
// servers that do not read chunked bodies get it, and a malformed or
// oversized one is refused before any instance sees the request, whatever
// the instance would have answered. A longer body goes on streaming after
// what was read. It returns the body's length, -1 while unknown. The
// buffer grows with the body: a short one costs little.
func (b *body) readAhead() (int64, error) {
	// An error reading is the body's failure, which b keeps.
	buf, _ := io.ReadAll(io.LimitReader(b, aheadSize+1))
	if f := b.failure(); f != nil {
		return -1, f
	}
	if b.left >= 0 {
		b.left += int64(len(buf)) // read again below, from buf
	}
	if len(buf) > aheadSize {
		b.rc = readCloser{io.MultiReader(bytes.NewReader(buf), b.rc), b.rc}
		return -1, nil
	}
	b.rc.Close()
	b.rc = io.NopCloser(bytes.NewReader(buf))
	return int64(len(buf)), nil
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
