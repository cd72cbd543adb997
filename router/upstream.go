package router

import (
	"bufio"
	"context"
	"net"
	"sync"
	"syscall"
	"time"
)

// upConn is one kept-alive connection of the fast path to an instance.
type upConn struct {
	net.Conn
	raw      syscall.RawConn // the socket, for readiness waits and peeks; nil if the dialer gave no socket
	src      sockSrc         // what br reads from
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
	rdl      readDeadline
	await    awaitState         // sendAwait's, during a wait
	onReady  func(uintptr) bool // c.ready, bound once
}

// upstreamBuffer sizes an upstream connection's buffers: a response head
// must fit in the read buffer (nginx's proxy_buffer_size is 4-8 KiB).
const (
	upstreamReadBuffer  = 16 << 10
	upstreamWriteBuffer = 4 << 10
	maxIdleUpstream     = 512
	// staleCheckAfter: a connection idle longer than this is checked for
	// a close from the instance before it is used again.
	staleCheckAfter = time.Second
)

// upPool is an endpoint's idle fast-path connections, most recent last.
type upPool struct {
	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

// get returns an idle connection that is still open, or nil.
func (p *upPool) get(now time.Time) *upConn {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if now.Sub(c.lastUsed) < staleCheckAfter || c.open() {
			return c
		}
		c.Close()
	}
}

// put keeps c for reuse, or closes it when the pool is full or closed.
func (p *upPool) put(c *upConn, now time.Time) {
	c.lastUsed = now
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdleUpstream {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// closeAll closes the idle connections and refuses new ones.
func (p *upPool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// open reports whether the instance has not closed c: a peek that would
// block means open; end of file, an error or unexpected data means not.
func (c *upConn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	alive := false
	var b [1]byte
	// Control, not Read: a read deadline left from the last response
	// must not make an open connection look closed.
	err := c.raw.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = n < 0 && err == syscall.EAGAIN
	})
	return err == nil && alive
}

// upstream returns a connection to tg: an idle one when there is one
// (reused true), else a new one dialled within the app's connect
// timeout.
func (r *Router) upstream(tg *target, rt *route, now time.Time) (c *upConn, reused bool, err error) {
	if c := tg.ep.pool.get(now); c != nil {
		return c, true, nil
	}
	c, err = r.dialUpstream(tg, rt)
	return c, false, err
}

// dialUpstream opens a new connection to tg.
func (r *Router) dialUpstream(tg *target, rt *route) (*upConn, error) {
	timeout := r.dialTimeout
	if rt.opts.ConnectTimeout > 0 {
		timeout = rt.opts.ConnectTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	nc, err := tg.ep.conns.DialContext(ctx, "tcp", tg.Addr)
	if err != nil {
		return nil, err
	}
	return newUpConn(nc), nil
}

// newUpConn wraps a new connection to an instance.
func newUpConn(nc net.Conn) *upConn {
	uc := &upConn{
		Conn: nc,
		raw:  socketOf(nc),
		src:  sockSrc{c: nc, fd: -1},
		bw:   bufio.NewWriterSize(nc, upstreamWriteBuffer),
	}
	uc.br = bufio.NewReaderSize(&uc.src, upstreamReadBuffer)
	return uc
}
