package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// Transport defaults.
const (
	defaultDialTimeout           = 5 * time.Second
	defaultResponseHeaderTimeout = 30 * time.Second
)

// newTransport returns the transport of one backend address: its pool of
// keep-alive connections is that instance's alone. It never uses an
// environment proxy and passes encodings through as is.
func newTransport(headerTimeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
		DisableCompression:    true,
	}
}

// dial connects to a backend within the connect timeout of the app whose
// request asked for the connection (the transport's dial context keeps the
// request's values), else the router's.
func (r *Router) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	timeout := r.dialTimeout
	if st := stateFrom(ctx); st != nil && st.route.opts.ConnectTimeout > 0 {
		timeout = st.route.opts.ConnectTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return r.dialer.DialContext(ctx, network, addr)
}

// backendTransport sends a request through the transport of the backend
// it holds. When connecting fails, the backend is marked down for a
// while and an idempotent request without a body is sent once more, to
// another backend of the route: nothing reached the first one.
type backendTransport struct {
	r *Router
}

func (t backendTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	if st == nil || st.getTarget() == nil {
		return nil, errors.New("router: request without a backend")
	}
	failed := st.getTarget()
	retryable := idempotent(req.Method) && (req.Body == nil || req.Body == http.NoBody)
	var silent *silentClose
	if retryable {
		// A new connection closed without a response is asked again
		// elsewhere too (see fastForward); the transport itself only
		// retries on a reused one.
		silent = &silentClose{}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), silent.trace()))
	}
	res, err := t.send(st, failed, req)
	if err == nil || !(isDialError(err) || silent.happened(err)) {
		return badBody(st, res, err)
	}
	now := time.Now().UnixNano()
	failed.ep.markDown(now)
	if !idempotent(req.Method) || (req.Body != nil && req.Body != http.NoBody) || req.Context().Err() != nil {
		return res, err
	}
	next := st.route.other(failed, now)
	if next == nil || !t.r.acquire(next.ep) {
		return res, err
	}
	t.r.release(st.swapTarget(next))
	retry := req.Clone(req.Context())
	retry.URL.Host = next.Addr
	res, err = t.send(st, next, retry)
	return badBody(st, res, err)
}

// badBody turns a response into the request body's failure when reading
// the client's body failed (a malformed chunk, a body over the limit):
// an instance that answered before the transport met the bad bytes does
// not decide the status, the request's framing does (400 or 413), as
// when the failure came first.
func badBody(st *reqState, res *http.Response, err error) (*http.Response, error) {
	if f := st.body.failure(); f != nil && err == nil {
		res.Body.Close()
		return nil, f
	}
	return res, err
}

// send is one attempt on tg. An app's own response timeout, when it has
// one, is enforced here; the transport enforces the router's.
func (t backendTransport) send(st *reqState, tg *target, req *http.Request) (*http.Response, error) {
	d := st.route.opts.ResponseTimeout
	if d <= 0 || d == t.r.headerTimeout {
		return tg.ep.transport.RoundTrip(req)
	}
	timer := time.AfterFunc(d, func() {
		st.timedOut.Store(true)
		st.cancel()
	})
	res, err := tg.ep.transport.RoundTrip(req)
	if !timer.Stop() && err != nil {
		err = errResponseTimeout
	}
	return res, err
}

// silentClose tells whether a request failed on a new connection before
// any byte of a response came.
type silentClose struct {
	fresh, answered atomic.Bool
}

func (s *silentClose) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:              func(i httptrace.GotConnInfo) { s.fresh.Store(!i.Reused) },
		GotFirstResponseByte: func() { s.answered.Store(true) },
	}
}

// happened reports whether err is such a failure.
func (s *silentClose) happened(err error) bool {
	return s != nil && err != nil && s.fresh.Load() && !s.answered.Load() && !isTimeout(err) && !errors.Is(err, context.Canceled)
}

// errResponseTimeout is an app's response timeout passing.
var errResponseTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "timeout awaiting response headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// idempotent reports whether a request with method may be sent twice.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// isDialError reports whether err is a failure to connect.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// bufferPool recycles the proxy's copy buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return make([]byte, 32<<10) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().([]byte) }

// Put boxes only a slice header, far cheaper than a new buffer.
func (b *bufferPool) Put(s []byte) { b.p.Put(s) }
