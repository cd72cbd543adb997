package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
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
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
		DisableCompression:    true,
	}
}

// backendTransport sends a request through the transport of the backend
// it holds. When connecting fails it moves the request to the next backend
// of the same route that is still in service. Nothing reached the failed
// backend, so this is safe for any method; only requests without a body
// are retried, since the transport consumes the body on failure.
type backendTransport struct {
	r *Router
}

func (t backendTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	if st == nil || st.getTarget() == nil {
		return nil, errors.New("router: request without a backend")
	}
	failed := st.getTarget()
	res, err := failed.ep.transport.RoundTrip(req)
	if err == nil || !isDialError(err) {
		return res, err
	}
	targets := st.route.targets
	first := 0
	for i := range targets {
		if &targets[i] == failed {
			first = i
			break
		}
	}
	for k := 1; k < len(targets) && err != nil && isDialError(err); k++ {
		if (req.Body != nil && req.Body != http.NoBody) || req.Context().Err() != nil {
			break
		}
		next := &targets[(first+k)%len(targets)]
		if !t.r.acquire(next.ep) {
			continue // being drained: no new work for it
		}
		t.r.release(st.swapTarget(next))
		retry := req.Clone(req.Context())
		retry.URL.Host = next.Addr
		res, err = next.ep.transport.RoundTrip(retry)
	}
	return res, err
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
