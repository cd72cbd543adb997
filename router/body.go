package router

import (
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
