package router

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Front serves the plain-HTTP listener. Requests of the common shape (see
// fastHead) are forwarded by a purpose-built HTTP/1.1 path: one parse of
// the head, kept-alive connections to each instance, pooled buffers.
// The first request that is anything else moves its connection, with the
// bytes already read, to a net/http server running the general path for
// the rest of the connection's life; so do unknown hosts, maintenance
// pages and redirects. There a framingConn still reads each request head
// as sent, so that ambiguous framing is refused there too. Both paths
// route, limit, forward and log alike.
type Front struct {
	r       *Router
	limits  ServerLimits
	general *http.Server

	draining atomic.Bool   // responses say Connection: close
	fast     atomic.Uint64 // requests forwarded on the fast path

	mu     sync.Mutex
	ln     net.Listener
	queue  *connQueue
	conns  map[*frontConn]struct{}
	closed bool
}

// NewFront returns a Front for r with the given limits; general serves
// the connections the fast path hands over (r itself, or r wrapped).
func NewFront(r *Router, limits ServerLimits, general http.Handler) *Front {
	srv := limits.Server("", general)
	return &Front{r: r, limits: srv2limits(srv), general: srv, conns: map[*frontConn]struct{}{}}
}

// srv2limits reads back the limits with their defaults filled in.
func srv2limits(s *http.Server) ServerLimits {
	return ServerLimits{HeaderTimeout: s.ReadHeaderTimeout, IdleTimeout: s.IdleTimeout, MaxHeaderBytes: s.MaxHeaderBytes}
}

// General returns the net/http server of the general path, e.g. to set
// its ErrorLog.
func (f *Front) General() *http.Server { return f.general }

// FastRequests is the number of requests the fast path has forwarded.
func (f *Front) FastRequests() uint64 { return f.fast.Load() }

// SetDraining makes every response from now on close its connection, so
// that clients move to another server (a successor paasd) on their own.
func (f *Front) SetDraining(on bool) {
	f.draining.Store(on)
	if on {
		f.general.SetKeepAlivesEnabled(false)
	}
}

// Serve accepts connections on ln until Shutdown or Close. It returns
// http.ErrServerClosed after those.
func (f *Front) Serve(ln net.Listener) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return http.ErrServerClosed
	}
	f.ln = ln
	f.queue = newConnQueue(ln.Addr())
	queue := f.queue
	f.mu.Unlock()
	go f.general.Serve(queue)

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if f.isClosed() {
				return http.ErrServerClosed
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		fc := &frontConn{f: f, c: c}
		if !f.track(fc) {
			c.Close()
			return http.ErrServerClosed
		}
		go fc.serve()
	}
}

func (f *Front) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// track registers a connection; false once the Front is closed.
func (f *Front) track(fc *frontConn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[fc] = struct{}{}
	return true
}

func (f *Front) untrack(fc *frontConn) {
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
}

// stop closes the listener and the connections waiting for a request;
// with all set, every connection. It returns how many remain.
func (f *Front) stop(all bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		if f.ln != nil {
			f.ln.Close()
		}
		if f.queue != nil {
			f.queue.Close()
		}
	}
	for fc := range f.conns {
		if all || fc.idle.Load() {
			fc.c.Close()
		}
	}
	return len(f.conns)
}

// Shutdown stops accepting, closes idle connections, and waits for the
// requests in flight on both paths to finish, or ctx to end.
func (f *Front) Shutdown(ctx context.Context) error {
	f.draining.Store(true)
	general := make(chan error, 1)
	go func() { general <- f.general.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for f.stop(false) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return <-general
}

// Close closes the listener and every connection at once.
func (f *Front) Close() error {
	f.stop(true)
	return f.general.Close()
}

// frontConn is one client connection on the fast path.
type frontConn struct {
	f    *Front
	c    net.Conn
	idle atomic.Bool // waiting for a request, nothing of it read
	rdl  readDeadline

	br   *bufio.Reader
	bw   *bufio.Writer
	head fastHead

	peer     string // client address
	trusted  bool   // the client is a trusted proxy
	port     []byte // local port, for X-Forwarded-Port
	hostBuf  []byte
	target   []byte   // copy of the request target, for the log
	out      []byte   // the request head for the instance
	id       []byte   // the request id
	line     []byte   // the access log line
	num      [20]byte // a number's digits
	upHeader upHead
}

// Buffer pools of client connections.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
	copyPool   = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
)

// serve reads requests until the connection ends or moves to the
// general path.
func (fc *frontConn) serve() {
	f := fc.f
	defer f.untrack(fc)
	fc.br = readerPool.Get().(*bufio.Reader)
	fc.br.Reset(fc.c)
	fc.bw = writerPool.Get().(*bufio.Writer)
	fc.bw.Reset(fc.c)
	handedOver := false
	defer func() {
		fc.br.Reset(nil)
		readerPool.Put(fc.br)
		fc.bw.Reset(nil)
		writerPool.Put(fc.bw)
		if !handedOver {
			fc.c.Close()
		}
	}()
	fc.peer = clientIP(fc.c.RemoteAddr().String())
	fc.trusted = fc.f.r.trustedPeer(fc.peer)
	if _, port, err := net.SplitHostPort(fc.c.LocalAddr().String()); err == nil {
		fc.port = []byte(port)
	}

	// A new connection is not idle: its client is about to send the
	// first request, and Shutdown waits for it (the header timeout bounds
	// the wait). Between requests, one is.
	wait := f.limits.HeaderTimeout
	for first := true; ; first = false {
		fc.idle.Store(!first && fc.br.Buffered() == 0)
		if f.isClosed() && fc.br.Buffered() == 0 {
			return
		}
		now := time.Now()
		fc.rdl.set(fc.c, now, now.Add(wait), deadlineSlack(wait))
		if _, err := fc.br.Peek(1); err != nil {
			return
		}
		fc.idle.Store(false)
		if buf, _ := fc.br.Peek(fc.br.Buffered()); !bytes.Contains(buf, crlfcrlf) {
			// The rest of the head is yet to come.
			now = time.Now()
			fc.rdl.set(fc.c, now, now.Add(f.limits.HeaderTimeout), 0)
		}
		switch readHead(fc.br, &fc.head) {
		case headClosed:
			return
		case headGeneral:
			handedOver = fc.handOver()
			return
		}
		keep, ok := fc.forward()
		if !ok {
			handedOver = fc.handOver()
			return
		}
		// A response that did not say Connection: close keeps the
		// connection, even when draining began while it was sent: the
		// client may already be sending its next request, which then
		// gets Connection: close.
		if !keep {
			return
		}
		wait = f.limits.IdleTimeout
	}
}

// handOver moves the connection, and the bytes read but not consumed, to
// the general path.
func (fc *frontConn) handOver() bool {
	if err := fc.bw.Flush(); err != nil {
		return false
	}
	fc.rdl.clear(fc.c)
	var rest []byte
	if n := fc.br.Buffered(); n > 0 {
		b, _ := fc.br.Peek(n)
		rest = append([]byte(nil), b...)
	}
	fc.f.queue.push(newFramingConn(&replayConn{Conn: fc.c, buf: rest}, maxWatchedHead(fc.f.general)))
	return true
}
