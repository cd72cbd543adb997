package router

import (
	"net/http"
	"sync/atomic"
	"time"
)

// endpoint is everything the router keeps per backend address: the count
// of requests in flight to it and its own transport, hence its own pool of
// keep-alive connections. Every route naming the address shares the one
// endpoint, so a Set that keeps an address keeps its count and its pool.
//
// An endpoint no route names any more is retired: requests that still
// reach it through an older route table give it up and look again, and
// once nothing is in flight it is reaped: its connections are closed,
// its drained channel is closed and it leaves the registry for good.
type endpoint struct {
	addr      string
	inflight  atomic.Int64
	retired   atomic.Bool
	downUntil atomic.Int64 // unix nanoseconds; refused a connection until then
	transport *http.Transport
	conns     *connTracker
	pool      upPool // the fast path's idle connections

	// Guarded by Router.mu.
	reaped  bool
	drained chan struct{} // closed when reaped
}

// endpointLocked returns the registered endpoint for addr, brought back
// into service if it was retired, or registers a new one. r.mu is held.
func (r *Router) endpointLocked(addr string) *endpoint {
	if e := r.endpoints[addr]; e != nil {
		e.retired.Store(false)
		return e
	}
	conns := newConnTracker(r.dial)
	e := &endpoint{
		addr:      addr,
		transport: newTransport(r.headerTimeout, conns.DialContext),
		conns:     conns,
		drained:   make(chan struct{}),
	}
	r.endpoints[addr] = e
	return e
}

// downFor is how long an instance that refused a connection is passed
// over when another one can take the request.
const downFor = 3 * time.Second

// markDown passes e over for a while: it refused a connection.
func (e *endpoint) markDown(now int64) { e.downUntil.Store(now + int64(downFor)) }

// isDown reports whether e refused a connection recently.
func (e *endpoint) isDown(now int64) bool { return e.downUntil.Load() > now }

// acquire counts a request in flight to e. It fails when e is retired:
// the caller read an outdated route table and must look again.
//
// The count is raised before the retired flag is read, and the route
// table is published before endpoints are retired, so either the request
// sees the flag (and a newer table) or a Drain that follows the Set sees
// the request.
func (r *Router) acquire(e *endpoint) bool {
	e.inflight.Add(1)
	if !e.retired.Load() {
		return true
	}
	r.release(e)
	return false
}

// release ends a request counted by acquire and reaps e when it was the
// last one to a retired endpoint.
func (r *Router) release(e *endpoint) {
	if e.inflight.Add(-1) == 0 && e.retired.Load() {
		r.mu.Lock()
		r.reapLocked(e)
		r.mu.Unlock()
	}
}

// retireUnusedLocked retires the endpoints table no longer names and reaps
// those with nothing in flight. It runs after table is published; r.mu is
// held.
func (r *Router) retireUnusedLocked(table routeTable) {
	used := make(map[*endpoint]bool, len(r.endpoints))
	for _, rt := range table {
		for i := range rt.targets {
			used[rt.targets[i].ep] = true
		}
	}
	for _, e := range r.endpoints {
		if used[e] || e.retired.Load() {
			continue
		}
		e.retired.Store(true)
		r.reapLocked(e)
	}
}

// reapLocked closes e's connections and forgets it when it is retired and
// idle. It is idempotent; r.mu is held.
func (r *Router) reapLocked(e *endpoint) {
	if e.reaped || !e.retired.Load() || e.inflight.Load() != 0 {
		return
	}
	e.reaped = true
	if r.endpoints[e.addr] == e {
		delete(r.endpoints, e.addr)
	}
	close(e.drained)
	e.pool.closeAll()
	e.conns.closeAll()
	e.transport.CloseIdleConnections()
	r.log.Debug("backend drained", "addr", e.addr)
}
