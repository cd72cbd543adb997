package router

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
)

// rewrite points the outbound request at the chosen backend and sets the
// forwarding headers. The proxy has already removed hop-by-hop headers,
// Forwarded and X-Forwarded-{For,Host,Proto} from the outbound request;
// the inbound values are kept (X-Forwarded-For appended to) only when the
// peer is a trusted proxy.
func (r *Router) rewrite(pr *httputil.ProxyRequest) {
	st := stateFrom(pr.In.Context())
	in, out := pr.In, pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = st.getBackend().Addr
	out.Host = in.Host

	client := clientIP(in.RemoteAddr)
	xff, proto, port, host := client, "http", forwardedPort(in), in.Host
	if in.TLS != nil {
		proto = "https"
	}
	if r.trustedPeer(client) {
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + client
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			proto = v
		}
		if v := in.Header.Get("X-Forwarded-Port"); validPort(v) {
			port = v
		}
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
	}
	h := out.Header
	h["X-Forwarded-For"] = []string{xff}
	h["X-Forwarded-Proto"] = []string{proto}
	h["X-Forwarded-Port"] = []string{port}
	h["X-Forwarded-Host"] = []string{host}
	h["X-Request-Id"] = []string{st.id}
	h["X-Request-Start"] = []string{strconv.FormatInt(st.start.UnixMilli(), 10)}
	h["Via"] = append(h["Via"], viaValue(in))
	delete(h, "X-Real-Ip")
	delete(h, "X-Forwarded-Ssl")
}

// viaValue names this hop in Via: the inbound protocol version and paas.
func viaValue(req *http.Request) string {
	switch {
	case req.ProtoMajor == 2:
		return "2 paas"
	case req.ProtoMinor == 0:
		return "1.0 paas"
	default:
		return "1.1 paas"
	}
}

// trustedPeer reports whether ip is one of the trusted proxies.
func (r *Router) trustedPeer(ip string) bool {
	if len(r.trusted) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// validPort reports whether s is a port number.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536 && s[0] != '+' && s[0] != '0'
}

// forwardedPort is the port the client connected to.
func forwardedPort(req *http.Request) string {
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(a.String()); err == nil {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(req.Host); err == nil && port != "" {
		return port
	}
	if req.TLS != nil {
		return "443"
	}
	return "80"
}

// redirectHTTPS sends a plain HTTP request of an app that wants HTTPS to
// the same address over HTTPS: 301 for GET and HEAD, 308 otherwise so the
// method and body are kept.
func (r *Router) redirectHTTPS(st *reqState, rw *responseWriter, req *http.Request, host string) {
	st.code, st.desc = "", ""
	status := http.StatusPermanentRedirect
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		status = http.StatusMovedPermanently
	}
	rw.Header().Set("X-Request-Id", st.id)
	rw.Header().Set("Location", "https://"+host+r.httpsPort+req.URL.RequestURI())
	rw.Header().Set("Connection", "close")
	rw.WriteHeader(status)
	r.logAccess(st, req, rw)
}
