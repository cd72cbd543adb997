package router

import (
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

// newTransport returns the transport shared by every backend of a Router.
// It never uses an environment proxy and passes encodings through as is.
func newTransport(cfg Config) *http.Transport {
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = defaultDialTimeout
	}
	headerTimeout := cfg.ResponseHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = defaultResponseHeaderTimeout
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
		DisableCompression:    true,
	}
}

// retryTransport sends a request to the next backend of the app when
// connecting to the chosen one fails. Nothing reached the failed backend,
// so this is safe for any method; only requests without a body are
// retried, since the transport consumes the body on failure.
type retryTransport struct {
	next http.RoundTripper
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	st := stateFrom(req.Context())
	if err == nil || st == nil || st.route == nil || !isDialError(err) {
		return res, err
	}
	backends := st.route.backends
	first := 0
	for i, b := range backends {
		if b.Addr == req.URL.Host {
			first = i
			break
		}
	}
	for k := 1; k < len(backends) && err != nil && isDialError(err); k++ {
		if (req.Body != nil && req.Body != http.NoBody) || req.Context().Err() != nil {
			break
		}
		b := backends[(first+k)%len(backends)]
		st.setBackend(b)
		retry := req.Clone(req.Context())
		retry.URL.Host = b.Addr
		res, err = t.next.RoundTrip(retry)
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
