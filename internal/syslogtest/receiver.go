package syslogtest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// Receiver records every message syslog clients send to a listener,
// until the test ends. A malformed frame fails the test.
type Receiver struct {
	t  testing.TB
	ln net.Listener

	mu       sync.Mutex
	msgs     []Message
	accepted int
	open     map[net.Conn]bool
}

// Listen starts a Receiver on a loopback port, over TLS when tlsConfig
// is set.
func Listen(t testing.TB, tlsConfig *tls.Config) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	return Serve(t, ln)
}

// Serve starts a Receiver on ln, which it closes when the test ends.
func Serve(t testing.TB, ln net.Listener) *Receiver {
	r := &Receiver{t: t, ln: ln, open: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		r.CloseConns()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.accepted++
			r.open[c] = true
			r.mu.Unlock()
			wg.Go(func() { r.serve(c) })
		}
	})
	return r
}

func (r *Receiver) serve(c net.Conn) {
	defer func() {
		c.Close()
		r.mu.Lock()
		delete(r.open, c)
		r.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	for {
		m, err := ReadFrame(br)
		if err != nil {
			// A frame cut off because the test closed the connection
			// is not the sender's fault.
			if errors.Is(err, ErrMalformed) && !errors.Is(err, net.ErrClosed) {
				r.t.Errorf("syslog receiver: %v", err)
			}
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}
}

// Addr is the receiver's address, host:port.
func (r *Receiver) Addr() string { return r.ln.Addr().String() }

// Port is the receiver's port.
func (r *Receiver) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Messages returns what arrived so far, in order of arrival.
func (r *Receiver) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

// Accepted returns how many connections were accepted so far.
func (r *Receiver) Accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted
}

// Open returns how many connections are open now.
func (r *Receiver) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.open)
}

// CloseConns closes the connections open now; the receiver goes on
// accepting.
func (r *Receiver) CloseConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.open {
		c.Close()
	}
}

// WaitFor polls until cond holds for the messages so far and returns
// them, failing the test after limit.
func (r *Receiver) WaitFor(what string, limit time.Duration, cond func([]Message) bool) []Message {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ms := r.Messages()
		if cond(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: %d messages arrived", what, len(ms))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
