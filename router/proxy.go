package router

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"time"
)

// newProxy returns the reverse proxy shared by every app.
func (r *Router) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        r.rewrite,
		Transport:      backendTransport{r: r},
		FlushInterval:  -1,
		BufferPool:     newBufferPool(),
		ModifyResponse: modifyResponse,
		ErrorHandler:   r.proxyError,
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
	}
}

// ServeHTTP routes req by its host: 404 for an unknown app, 503 for an app
// in maintenance mode or without web instances, else it forwards req to
// the next instance and counts it in flight there until it ends.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	id := requestID(req.Header.Get("X-Request-Id"))
	app, rt, tg := r.choose(normalizeHost(req.Host))
	if rt == nil {
		w.Header().Set("X-Request-Id", id)
		writePage(w, http.StatusNotFound, "No such app",
			"There is no app configured at this address.", id)
		return
	}

	st := &reqState{app: app, id: id, route: rt, start: start, target: tg}
	rw := &responseWriter{ResponseWriter: w}
	if rt.maintenance {
		r.serveMaintenance(st, rw, req)
		return
	}
	if tg == nil {
		st.code, st.desc = "H14", "No web processes running"
		w.Header().Set("X-Request-Id", id)
		writePage(rw, http.StatusServiceUnavailable, "No web processes running",
			"This app has no web process running right now.", id)
		r.logAccess(st, req, rw)
		return
	}
	// The request leaves the count of whichever backend it ends on, even
	// when the response copy panics below.
	defer func() { r.release(st.getTarget().ep) }()

	// A response copy that fails midway aborts the handler with a panic;
	// the request is still logged.
	defer func() {
		if p := recover(); p != nil {
			if st.code == "" {
				if req.Context().Err() != nil {
					st.code, st.desc = "H27", "Client Request Interrupted"
				} else {
					st.code, st.desc = "H18", "Server Request Interrupted"
				}
			}
			r.logAccess(st, req, rw)
			panic(p)
		}
	}()

	ctx := withState(req.Context(), st)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { st.gotConn() },
	})
	r.proxy.ServeHTTP(rw, req.WithContext(ctx))
	r.logAccess(st, req, rw)
}

// choose returns the app host routes to, its route and, unless the app
// is in maintenance mode or has no backend, the next backend with the
// request counted in flight to it. The route is nil for an unknown host.
func (r *Router) choose(host string) (string, *route, *target) {
	for {
		app, rt := r.routeFor(host)
		if rt == nil || rt.maintenance {
			return app, rt, nil
		}
		tg := rt.pick()
		if tg == nil || r.acquire(tg.ep) {
			return app, rt, tg
		}
		// tg was retired after rt was read: a newer table is published.
	}
}

// rewrite points the outbound request at the chosen backend and sets the
// forwarding headers. Forwarding headers from the client are not trusted:
// the proxy has already removed Forwarded and X-Forwarded-{For,Host,Proto}.
func (r *Router) rewrite(pr *httputil.ProxyRequest) {
	st := stateFrom(pr.In.Context())
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = st.getBackend().Addr
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
	pr.Out.Header.Set("X-Forwarded-Port", forwardedPort(pr.In))
	pr.Out.Header.Set("X-Request-Id", st.id)
	pr.Out.Header.Del("X-Real-Ip")
	pr.Out.Header.Del("X-Forwarded-Ssl")
}

// modifyResponse stamps the request id on the response.
func modifyResponse(res *http.Response) error {
	if st := stateFrom(res.Request.Context()); st != nil {
		st.upstreamStatus = res.StatusCode
		res.Header.Set("X-Request-Id", st.id)
	}
	return nil
}

// proxyError answers a request the backend could not serve.
func (r *Router) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	st := stateFrom(req.Context())
	status, code, desc := classify(req.Context(), err)
	st.code, st.desc = code, desc
	r.log.Debug("proxy error", "app", st.app, "backend", st.getBackend().Addr,
		"request_id", st.id, "code", code, "err", err)
	if status == statusClientClosed {
		st.status = status // nobody is listening
		return
	}
	w.Header().Set("X-Request-Id", st.id)
	switch status {
	case http.StatusGatewayTimeout:
		writePage(w, status, "Gateway timeout", "The app did not answer in time.", st.id)
	default:
		writePage(w, status, "Bad gateway", "The app could not be reached.", st.id)
	}
}

// statusClientClosed is logged when the client went away first.
const statusClientClosed = 499

// classify maps a proxy error to a status and a Heroku-style error code.
func classify(ctx context.Context, err error) (status int, code, desc string) {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return statusClientClosed, "H27", "Client Request Interrupted"
	case isDialError(err) && errors.As(err, &ne) && ne.Timeout():
		return http.StatusBadGateway, "H19", "Backend connection timeout"
	case isDialError(err):
		return http.StatusBadGateway, "H19", "Backend connection failed"
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "H12", "Request timeout"
	default:
		return http.StatusBadGateway, "H13", "Connection closed without response"
	}
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
