package router

import (
	"context"
	"net"
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// frameGuard wraps the general path's handler; it runs first for every
// request the general path reads, ACME challenges included. It refuses
// CONNECT (405) and a request whose framing or host is ambiguous (400):
// from what its HTTP/1 head said (framingConn), a Transfer-Encoding next
// to a Content-Length or in HTTP/1.0, or an absolute-form target naming
// another host than the Host header; in HTTP/2, a Host field naming
// another host than :authority. A refused HTTP/1 request closes its
// connection. So does every request after which the head of the next one
// is not known: one with a chunked body, or one that ended the watching.
// On a connection that is not watched (one served outside Front and
// ServeTLS), requests with a Transfer-Encoding or of HTTP/1.0 close it.
func frameGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodConnect {
			refuseEarly(w, req, http.StatusMethodNotAllowed, "Method not allowed",
				"This server does not open tunnels.")
			return
		}
		if req.ProtoMajor != 1 {
			// HTTP/2 frames its messages itself; its :authority names
			// the host, and a Host field may only repeat it.
			if hs := req.Header.Values("Host"); len(hs) > 1 || len(hs) == 1 && normalizeHost(hs[0]) != normalizeHost(req.Host) {
				refuseEarly(w, req, http.StatusBadRequest, "Bad request", refuseHostPair)
				return
			}
			next.ServeHTTP(w, req)
			return
		}
		keep := len(req.TransferEncoding) == 0
		if fc, _ := req.Context().Value(framingKey{}).(*framingConn); fc != nil {
			info, ok := fc.claim(req.Method, req.RequestURI)
			if ok && info.refuse != "" {
				refuseEarly(w, req, http.StatusBadRequest, "Bad request", info.refuse)
				return
			}
			keep = keep && ok && info.keep
		} else {
			keep = keep && req.ProtoAtLeast(1, 1)
		}
		// An upgrade's 101 ends HTTP on the connection anyway; one the
		// instance declines leaves the heads after it unknown, and the
		// next request closes the connection.
		if !keep && !upgrade(req) {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, req)
	})
}

// upgrade reports whether req asks to switch protocols, as
// httputil.ReverseProxy reads it.
func upgrade(req *http.Request) bool {
	return req.Header.Get("Upgrade") != "" && httpguts.HeaderValuesContainsToken(req.Header["Connection"], "Upgrade")
}

// refuseEarly answers a request the router does not route with a page of
// the platform and closes an HTTP/1 connection.
func refuseEarly(w http.ResponseWriter, req *http.Request, status int, title, detail string) {
	id := requestID(req.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	if req.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS")
	}
	writePage(w, status, title, detail, id)
}

// framingKey is the context key of a request's framingConn.
type framingKey struct{}

// connContext gives the requests of a watched connection its framingConn.
func connContext(ctx context.Context, c net.Conn) context.Context {
	switch fc := c.(type) {
	case *framingConn:
		return context.WithValue(ctx, framingKey{}, fc)
	case *tlsFramingConn:
		return context.WithValue(ctx, framingKey{}, fc.framingConn)
	}
	return ctx
}
