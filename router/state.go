package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// reqState is what the router knows about one proxied request; it rides in
// the request context from ServeHTTP to the proxy hooks.
type reqState struct {
	app   string
	id    string
	route *route
	start time.Time

	mu      sync.Mutex
	backend Backend

	connected atomic.Int64 // nanoseconds from start to a backend connection; 0 until then

	// Set by the proxy hooks, which run on the request's goroutine.
	upstreamStatus int
	status         int // overrides the written status (499)
	code, desc     string
}

type stateKey struct{}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

func (st *reqState) setBackend(b Backend) {
	st.mu.Lock()
	st.backend = b
	st.mu.Unlock()
}

func (st *reqState) getBackend() Backend {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.backend
}

// gotConn records the first connection to a backend.
func (st *reqState) gotConn() {
	st.connected.CompareAndSwap(0, max(int64(time.Since(st.start)), 1))
}
