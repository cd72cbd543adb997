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
		FlushInterval:  0, // event streams and bodies of unknown length are flushed as they come
		BufferPool:     newBufferPool(),
		ModifyResponse: modifyResponse,
		ErrorHandler:   r.proxyError,
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
	}
}

// ServeHTTP routes req by its host: 404 for an unknown host, 421 when the
// TLS server name names another app, a redirect to HTTPS when the app asks
// for one, 413 for a body over the limit, 503 for an app in maintenance
// mode or without web instances; else it forwards req to the next
// instance and counts it in flight there until it ends.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	id := requestID(req.Header.Get("X-Request-Id"))
	host := normalizeHost(req.Host)
	app, rt := r.routeFor(host)
	if rt == nil {
		w.Header().Set("X-Request-Id", id)
		writePage(w, http.StatusNotFound, "No such app",
			"There is no app configured at this address.", id)
		return
	}
	st := &reqState{app: app, id: id, route: rt, start: start}
	rw := &responseWriter{ResponseWriter: w}
	if req.TLS != nil && req.TLS.ServerName != "" {
		if sniApp, _ := r.routeFor(normalizeHost(req.TLS.ServerName)); sniApp != app {
			st.code, st.desc = "H24", "Misdirected request"
			r.refuse(st, rw, req, http.StatusMisdirectedRequest, "Misdirected request",
				"This connection was opened for another site; open a new one for this address.")
			return
		}
	}
	// Behind a trusted proxy that terminated TLS, its X-Forwarded-Proto
	// says whether the client used HTTPS.
	st.secure = req.TLS != nil || (rt.opts.HTTPSRedirect || rt.opts.HSTS) &&
		req.Header.Get("X-Forwarded-Proto") == "https" && r.trustedPeer(clientIP(req.RemoteAddr))
	if !st.secure && rt.opts.HTTPSRedirect {
		r.redirectHTTPS(st, rw, req, host)
		return
	}
	limit := r.bodyLimit(rt)
	if limit > 0 && req.ContentLength > limit {
		st.code, st.desc = "H413", "Request body too large"
		rw.Header().Set("Connection", "close")
		r.refuse(st, rw, req, http.StatusRequestEntityTooLarge, "Request too large",
			"The request body is larger than this app accepts.")
		return
	}
	if req.Body != nil && req.Body != http.NoBody {
		if limit <= 0 {
			limit = -1
		}
		st.body = &body{rc: req.Body, left: limit}
		req.Body = st.body
	}
	if rt.maintenance {
		r.serveMaintenance(st, rw, req)
		return
	}
	if st.body != nil && req.ContentLength < 0 {
		n, err := st.body.readAhead()
		if err != nil {
			r.proxyError(rw, req.WithContext(withState(req.Context(), st)), err)
			r.logAccess(st, req, rw)
			return
		}
		if n >= 0 {
			req.ContentLength, req.TransferEncoding = n, nil
		}
	}
	rt, tg := r.choose(host, rt, start.UnixNano())
	st.route, st.target = rt, tg
	if tg == nil {
		st.code, st.desc = "H14", "No web processes running"
		r.refuse(st, rw, req, http.StatusServiceUnavailable, "No web processes running",
			"This app has no web process running right now.")
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

	ctx, cancel := context.WithCancel(withState(req.Context(), st))
	defer cancel()
	st.cancel = cancel
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { st.gotConn() },
	})
	r.proxy.ServeHTTP(rw, req.WithContext(ctx))
	r.logAccess(st, req, rw)
}

// choose returns the route of host to use, and the next backend with the
// request counted in flight to it, nil when the route has none. rt is the
// route already read; a newer one is read when its backend was retired
// meanwhile.
func (r *Router) choose(host string, rt *route, now int64) (*route, *target) {
	for {
		tg := rt.pick(now)
		if tg == nil || r.acquire(tg.ep) {
			return rt, tg
		}
		// tg was retired after rt was read: a newer table is published.
		if _, rt = r.routeFor(host); rt == nil {
			return &route{}, nil
		}
	}
}

// bodyLimit is the largest request body rt's app accepts, 0 for any.
func (r *Router) bodyLimit(rt *route) int64 {
	if rt.opts.MaxBody > 0 {
		return rt.opts.MaxBody
	}
	return r.maxBody
}

// refuse answers a request with a page of the platform and logs it.
func (r *Router) refuse(st *reqState, rw *responseWriter, req *http.Request, status int, title, detail string) {
	rw.Header().Set("X-Request-Id", st.id)
	writePage(rw, status, title, detail, st.id)
	r.logAccess(st, req, rw)
}

// modifyResponse stamps the request id on the response, and HSTS on an
// HTTPS response of an app that asks for it.
func modifyResponse(res *http.Response) error {
	if st := stateFrom(res.Request.Context()); st != nil {
		st.upstreamStatus = res.StatusCode
		res.Header.Set("X-Request-Id", st.id)
		if st.route.opts.HSTS && st.secure {
			res.Header.Set("Strict-Transport-Security", hstsValue)
		}
	}
	return nil
}

// hstsValue asks browsers to use HTTPS for a year.
const hstsValue = "max-age=31536000"

// proxyError answers a request the backend could not serve.
func (r *Router) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	st := stateFrom(req.Context())
	status, code, desc := classify(st, req.Context(), err)
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
	case http.StatusRequestEntityTooLarge:
		w.Header().Set("Connection", "close")
		writePage(w, status, "Request too large", "The request body is larger than this app accepts.", st.id)
	case http.StatusBadRequest:
		w.Header().Set("Connection", "close")
		writePage(w, status, "Bad request", "The request body could not be read.", st.id)
	default:
		writePage(w, status, "Bad gateway", "The app could not be reached.", st.id)
	}
}

// statusClientClosed is logged when the client went away first.
const statusClientClosed = 499

// classify maps a proxy error to a status and a Heroku-style error code.
func classify(st *reqState, ctx context.Context, err error) (status int, code, desc string) {
	var ne net.Error
	bodyErr := st.body.failure()
	switch {
	case bodyErr == errBodyTooLarge:
		return http.StatusRequestEntityTooLarge, "H413", "Request body too large"
	case bodyErr != nil && ctx.Err() == nil:
		return http.StatusBadRequest, "H400", "Bad request body"
	case st.timedOut.Load():
		return http.StatusGatewayTimeout, "H12", "Request timeout"
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
