package router

import (
	"context"
	"errors"
	"net"
	"sync"
)

// errEndpointClosed fails a dial to a reaped endpoint.
var errEndpointClosed = errors.New("backend retired")

// connTracker dials connections for one endpoint's transport and keeps
// them, so that reaping the endpoint closes every connection it has: the
// transport's own CloseIdleConnections misses a connection that goes back
// to the pool a moment after it ran.
type connTracker struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func newConnTracker(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *connTracker {
	return &connTracker{dial: dial, conns: make(map[*trackedConn]struct{})}
}

// DialContext dials addr and tracks the connection until it is closed.
func (t *connTracker) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, &net.OpError{Op: "dial", Net: network, Err: errEndpointClosed}
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every tracked connection and refuses new ones.
func (t *connTracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = make(map[*trackedConn]struct{})
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// trackedConn leaves its tracker when closed.
type trackedConn struct {
	net.Conn
	t *connTracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}
