package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
)

// The pipe roles are floors, not proxies: the least work an HTTP proxy on
// this machine can do per request, in each of two programming models.
// Each client connection gets an upstream connection of its own, dialled
// when it is accepted and kept for its life; a request is passed on as
// it came, byte for byte, with no header added, no routing, no timeout
// and no log; a response is passed back as it came, its end found from
// its Content-Length. They serve the benchmark's bodiless GETs and
// nothing else. "pipe-goroutine" serves each connection with one
// goroutine on Go's net package, as the router's fast path does;
// "pipe-epoll" serves all of them from one event loop per core on raw
// epoll, as nginx does. What separates the router from its floor is the
// router's own work; what separates the two floors is the model.

// errPipeHead is a request or response head a pipe cannot pass on.
var errPipeHead = errors.New("pipe: head too long or without a Content-Length")

// pipeBuf is the size of a pipe's buffers: a whole head must fit.
const pipeBuf = 64 << 10

// runPipe is the pipe role: it listens on a free loopback port, prints
// the address and serves until killed.
func runPipe(backend, model string) error {
	if backend == "" {
		return fmt.Errorf("pipe role: -backend is required")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	switch model {
	case "goroutine":
		return serveGoroutinePipe(ln.(*net.TCPListener), backend)
	case "epoll":
		return serveEpollPipe(ln.(*net.TCPListener), backend)
	}
	return fmt.Errorf("pipe role: unknown model %q", model)
}

// serveGoroutinePipe serves each connection with a goroutine of its own.
func serveGoroutinePipe(ln *net.TCPListener, backend string) error {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", backend)
			if err != nil {
				return
			}
			defer u.Close()
			pipeRequests(c, u)
		}()
	}
}

// pipeRequests passes requests from c to u and their responses back,
// one at a time, until either side fails or closes.
func pipeRequests(c, u net.Conn) {
	req := make([]byte, pipeBuf)
	res := make([]byte, pipeBuf)
	for {
		n, err := readHeadInto(c, req)
		if err != nil {
			return
		}
		if _, err := u.Write(req[:n]); err != nil {
			return
		}
		// The response: its head, then as much of its body as it gives.
		got, end := 0, -1
		for end < 0 || got < end {
			m, err := u.Read(res[got:])
			if err != nil {
				return
			}
			got += m
			if end < 0 {
				if end, err = responseEnd(res[:got]); err != nil {
					return
				}
			}
			if end >= 0 && got < end && got == len(res) {
				// The body goes on past the buffer: pass on what came.
				if _, err := c.Write(res[:got]); err != nil {
					return
				}
				end -= got
				got = 0
			}
		}
		if _, err := c.Write(res[:got]); err != nil {
			return
		}
	}
}

// readHeadInto reads from c into buf until buf holds a whole request head
// and returns its length. A request must not come before the last one's
// response (wrk does not pipeline).
func readHeadInto(c net.Conn, buf []byte) (int, error) {
	got := 0
	for {
		n, err := c.Read(buf[got:])
		if err != nil {
			return 0, err
		}
		got += n
		if bytes.HasSuffix(buf[:got], []byte("\r\n\r\n")) {
			return got, nil
		}
		if got == len(buf) {
			return 0, errPipeHead
		}
	}
}

// responseEnd returns the length of the whole response whose first bytes
// are b, or -1 when b does not hold its head yet.
func responseEnd(b []byte) (int, error) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		if len(b) >= pipeBuf {
			return 0, errPipeHead
		}
		return -1, nil
	}
	head := b[:i+2]
	const name = "\r\ncontent-length:"
	for j := 0; j+len(name) <= len(head); j++ {
		if !bytes.EqualFold(head[j:j+len(name)], []byte(name)) {
			continue
		}
		v := head[j+len(name):]
		v = v[:bytes.Index(v, []byte("\r\n"))]
		v = bytes.TrimSpace(v)
		if len(v) == 0 || len(v) > 9 {
			return 0, errPipeHead
		}
		n := 0
		for _, d := range v {
			if d < '0' || d > '9' {
				return 0, errPipeHead
			}
			n = n*10 + int(d-'0')
		}
		return i + 4 + n, nil
	}
	return 0, errPipeHead
}
