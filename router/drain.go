package router

import (
	"context"
	"fmt"
	"strings"
)

// Drain waits until no request is in flight to any of addrs (which the
// caller has already removed from the route table with Set), or ctx ends,
// in which case it returns ctx.Err(). Requests in flight include streamed
// responses and upgraded connections, until they close. Once nothing is in
// flight to an address, the router closes its connections to it.
//
// Drain fails at once, without waiting, when an address is still routed:
// its count would never settle while it takes new requests. An address
// the router does not know, or has already drained, needs no wait.
func (r *Router) Drain(ctx context.Context, addrs []string) error {
	var waits []chan struct{}
	var routed []string
	r.mu.Lock()
	for _, addr := range addrs {
		e := r.endpoints[addr]
		switch {
		case e == nil:
		case !e.retired.Load():
			routed = append(routed, addr)
		default:
			waits = append(waits, e.drained)
		}
	}
	r.mu.Unlock()
	if len(routed) > 0 {
		return fmt.Errorf("draining %s: still routed", strings.Join(routed, ", "))
	}
	for _, drained := range waits {
		select {
		case <-drained:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// InFlight returns the number of requests in flight to addr.
func (r *Router) InFlight(addr string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.endpoints[addr]; e != nil {
		return e.inflight.Load()
	}
	return 0
}
