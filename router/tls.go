package router

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// ServeTLS serves srv over TLS on ln with srv.TLSConfig, as
// srv.ServeTLS(ln, "", "") would, HTTP/2 included, and returns what
// srv.Serve returns. The difference: each handshake runs here, on its own
// goroutine and within srv's header timeout, and an HTTP/1 connection
// then reaches srv as a framingConn, so that the general path sees its
// request heads as they were sent. Connections that negotiated another
// protocol (h2, acme-tls/1) reach srv as the *tls.Conn itself.
func ServeTLS(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig == nil {
		ln.Close()
		return errors.New("router: ServeTLS needs srv.TLSConfig")
	}
	cfg := srv.TLSConfig.Clone()
	if !slices.Contains(cfg.NextProtos, "http/1.1") {
		cfg.NextProtos = append(cfg.NextProtos, "http/1.1")
	}
	tl := &tlsListener{
		ln: ln, cfg: cfg, srv: srv,
		conns: make(chan net.Conn), done: make(chan struct{}),
	}
	go tl.run()
	return srv.Serve(tl)
}

// tlsFramingConn is an HTTP/1 connection over TLS; net/http reads its TLS
// state from ConnectionState.
type tlsFramingConn struct {
	*framingConn
	tc *tls.Conn
}

// ConnectionState is the TLS connection's.
func (c *tlsFramingConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// CloseWrite ends the TLS connection's writing side.
func (c *tlsFramingConn) CloseWrite() error { return c.tc.CloseWrite() }

// tlsListener is the listener srv serves in ServeTLS: it returns
// connections whose handshake is done.
type tlsListener struct {
	ln  net.Listener
	cfg *tls.Config
	srv *http.Server

	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error // why run stopped, set before done is closed
}

// run accepts connections and starts their handshakes until ln fails or
// is closed.
func (l *tlsListener) run() {
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-l.done:
					return
				}
			}
			l.stop(err)
			return
		}
		backoff = 0
		go l.handshake(c)
	}
}

// handshake runs c's TLS handshake and hands the connection to Accept.
func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	if d := handshakeTimeout(l.srv); d > 0 {
		c.SetDeadline(time.Now().Add(d))
	}
	if err := tc.Handshake(); err != nil {
		// A client speaking plain HTTP gets the answer net/http gives it.
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		if l.srv.ErrorLog != nil {
			l.srv.ErrorLog.Printf("http: TLS handshake error from %s: %v", c.RemoteAddr(), err)
		}
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	var conn net.Conn = tc
	if p := tc.ConnectionState().NegotiatedProtocol; p == "" || p == "http/1.1" {
		conn = &tlsFramingConn{newFramingConn(tc, maxWatchedHead(l.srv)), tc}
	}
	select {
	case l.conns <- conn:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose handshake is done.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// Close closes ln; handshakes still running close their connections.
func (l *tlsListener) Close() error {
	l.stop(net.ErrClosed)
	return l.ln.Close()
}

func (l *tlsListener) stop(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

func (l *tlsListener) Addr() net.Addr { return l.ln.Addr() }

// handshakeTimeout is net/http's: the shortest of srv's positive read
// header, read and write timeouts.
func handshakeTimeout(srv *http.Server) time.Duration {
	var d time.Duration
	for _, v := range []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout} {
		if v > 0 && (d == 0 || v < d) {
			d = v
		}
	}
	return d
}

// looksLikeHTTP reports whether the first bytes of a "TLS record" are
// those of an HTTP request.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}
