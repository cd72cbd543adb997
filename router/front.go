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
	stopped  atomic.Bool   // closed, readable without mu
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

func (f *Front) isClosed() bool { return f.stopped.Load() }

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
	if !f.closed {
		f.closed = true
		f.stopped.Store(true)
		if f.ln != nil {
			f.ln.Close()
		}
		if f.queue != nil {
			f.queue.Close()
		}
	}
	var cut []*frontConn
	for fc := range f.conns {
		if all || fc.idle.Load() {
			cut = append(cut, fc)
		}
	}
	n := len(f.conns)
	f.mu.Unlock()
	for _, fc := range cut {
		fc.cut()
	}
	return n
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
	src  sockSrc   // what br reads from
	sink sockSink  // what bw writes to
	once sync.Once // of cut

	wait        time.Duration // how long the next request may take to start
	first       bool          // no request served yet
	headStarted bool          // part of a head is read; its deadline is set
	now         time.Time     // when the last response was sent, if just now

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
	fc.src = sockSrc{c: fc.c, fd: -1}
	fc.sink = sockSink{c: fc.c, fd: -1}
	fc.br = readerPool.Get().(*bufio.Reader)
	fc.br.Reset(&fc.src)
	fc.bw = writerPool.Get().(*bufio.Writer)
	fc.bw.Reset(&fc.sink)
	handedOver := false
	defer func() {
		fc.br.Reset(nil)
		readerPool.Put(fc.br)
		fc.bw.Reset(nil)
		writerPool.Put(fc.bw)
		if !handedOver {
			fc.once.Do(func() {})
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
	fc.wait, fc.first = f.limits.HeaderTimeout, true
	rc := socketOf(fc.c)
	for {
		var v step
		if rc != nil {
			v = fc.serveReady(rc)
		} else {
			v = fc.next()
		}
		switch v {
		case stepHead:
			// A request to forward here, outside any readiness wait.
			keep, ok := fc.forward()
			if !ok {
				handedOver = fc.handOver()
				return
			}
			if !keep {
				return
			}
			fc.served()
		case stepGeneral:
			handedOver = fc.handOver()
			return
		case stepClosed:
			return
		}
	}
}

// step is what the serving loop does next with a connection.
type step int

const (
	stepHead    step = iota // a request head is read: forward it
	stepGeneral             // hand the connection to the general path
	stepClosed              // close the connection
	stepMore                // wait for more bytes (inside a readiness wait only)
)

// next waits for the next request head, reading with ordinary reads.
func (fc *frontConn) next() step {
	f := fc.f
	fc.idle.Store(!fc.first && fc.br.Buffered() == 0)
	if f.isClosed() && fc.br.Buffered() == 0 {
		return stepClosed
	}
	now := time.Now()
	fc.rdl.set(fc.c, now, now.Add(fc.wait), deadlineSlack(fc.wait))
	if _, err := fc.br.Peek(1); err != nil {
		return stepClosed
	}
	fc.idle.Store(false)
	if buf, _ := fc.br.Peek(fc.br.Buffered()); !bytes.Contains(buf, crlfcrlf) {
		// The rest of the head is yet to come.
		now = time.Now()
		fc.rdl.set(fc.c, now, now.Add(f.limits.HeaderTimeout), 0)
	}
	switch readHead(fc.br, &fc.head) {
	case headClosed:
		return stepClosed
	case headGeneral:
		return stepGeneral
	}
	return stepHead
}

// served moves on after a response that keeps the connection. It keeps
// the connection even when draining began while the response was sent:
// the client may already be sending its next request, which then gets
// Connection: close.
func (fc *frontConn) served() {
	fc.wait, fc.first = fc.f.limits.IdleTimeout, false
}

// serveReady serves requests from inside one readiness wait of the
// client's socket (see rawio.go), for as long as they are bodiless
// requests of the fast path: between them, it waits for the socket to
// become readable without a read that would find nothing, since any
// byte that came after the last read wakes the wait. It returns to
// forward a request with a body outside the wait (the body is read with
// ordinary reads), to hand over, or to close.
func (fc *frontConn) serveReady(rc syscall.RawConn) (v step) {
	skip := false // the socket had nothing more at the last read
	err := rc.Read(func(fd uintptr) bool {
		fc.src.fd, fc.sink.fd = int(fd), int(fd)
		v = fc.readyLoop(&skip)
		fc.src.fd, fc.sink.fd = -1, -1
		return v != stepMore
	})
	if err != nil {
		return stepClosed
	}
	return v
}

// readyLoop serves the requests that need no wait; stepMore asks to
// wait for the socket.
func (fc *frontConn) readyLoop(skip *bool) step {
	f := fc.f
	for {
		if fc.br.Buffered() == 0 {
			fc.idle.Store(!fc.first)
			if f.isClosed() {
				return stepClosed
			}
			if *skip {
				*skip = false
				fc.armWait()
				return stepMore
			}
		}
		switch readHead(fc.br, &fc.head) {
		case headMore:
			if fc.br.Buffered() > 0 {
				fc.idle.Store(false) // part of a request is here
			}
			fc.armWait()
			return stepMore
		case headClosed:
			return stepClosed
		case headGeneral:
			return stepGeneral
		}
		fc.idle.Store(false)
		fc.headStarted = false
		if fc.head.contentLength > 0 {
			return stepHead
		}
		keep, ok := fc.forward()
		if !ok {
			return stepGeneral
		}
		if !keep {
			return stepClosed
		}
		fc.served()
		*skip = !fc.src.full
	}
}

// armWait sets the read deadline for a wait: the time the next request
// has to start, or the header timeout from the first byte of a head
// that came in part.
func (fc *frontConn) armWait() {
	now := fc.now
	if now.IsZero() {
		now = time.Now()
	}
	fc.now = time.Time{}
	if fc.br.Buffered() == 0 {
		fc.rdl.set(fc.c, now, now.Add(fc.wait), deadlineSlack(fc.wait))
		return
	}
	if !fc.headStarted {
		fc.headStarted = true
		fc.rdl.set(fc.c, now, now.Add(fc.f.limits.HeaderTimeout), 0)
	}
}

// cut closes the connection for Shutdown or Close. A connection whose
// goroutine is inside a readiness wait keeps its descriptor until the
// wait ends, so the socket is shut at once (the client sees it closed,
// writes to it fail) and the descriptor closed without waiting.
func (fc *frontConn) cut() {
	fc.once.Do(func() {
		if rc := socketOf(fc.c); rc != nil {
			rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
		}
		go fc.c.Close()
	})
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
