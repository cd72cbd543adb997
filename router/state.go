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
	// cancel ends the outbound request; timedOut says the app's response
	// timeout did it.
	cancel   context.CancelFunc
	timedOut atomic.Bool
	body     *body // the request body, nil without one
	secure   bool  // the client used HTTPS (here, or to a trusted proxy)

	mu     sync.Mutex
	target *target // the backend the request is counted against; nil if none

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

// swapTarget makes tg the request's backend and returns the endpoint of
// the previous one.
func (st *reqState) swapTarget(tg *target) *endpoint {
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.target
	st.target = tg
	return old.ep
}

func (st *reqState) getTarget() *target {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.target
}

// getBackend returns the request's backend, zero when it has none.
func (st *reqState) getBackend() Backend {
	if tg := st.getTarget(); tg != nil {
		return tg.Backend
	}
	return Backend{}
}

// gotConn records the first connection to a backend.
func (st *reqState) gotConn() {
	st.connected.CompareAndSwap(0, max(int64(time.Since(st.start)), 1))
}
