// Package router is the HTTP front door: it maps a request's host to the
// web instances of one app, forwards the request to one of them with the
// usual forwarding headers, and writes a request line to the app's log.
package router

import (
	"log/slog"
	"maps"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Backend is one web instance of an app.
type Backend struct {
	Name string // instance name, "web.1"
	Addr string // host:port
}

// Config configures a Router.
type Config struct {
	// Domain is the platform domain: app X is served at host X.<Domain>,
	// e.g. "localhost".
	Domain string
	// Logger receives the router's own diagnostics; nil discards them.
	Logger *slog.Logger
	// AccessLog, when set, receives one line per request for a known app
	// (Heroku router style). It is called on the request path and must
	// not block.
	AccessLog func(app, line string)
	// ResponseHeaderTimeout bounds the wait for an instance's response
	// headers; past it the client gets 504. Zero means 30s.
	ResponseHeaderTimeout time.Duration
	// DialTimeout bounds connecting to an instance. Zero means 5s.
	DialTimeout time.Duration
}

// Router routes requests by host to app backends. It is an http.Handler and
// is safe for concurrent use; Set and Remove may be called while serving.
type Router struct {
	domain    string
	log       *slog.Logger
	accessLog func(app, line string)
	proxy     *httputil.ReverseProxy
	transport *http.Transport

	mu     sync.Mutex                 // serialises writers of routes
	routes atomic.Pointer[routeTable] // read without locking
}

// routeTable is an immutable map from app name to its route.
type routeTable map[string]*route

// route is the backend set of one app. backends is never modified after
// the route is published.
type route struct {
	backends []Backend
	next     atomic.Uint64 // round-robin counter
}

// New returns a Router with no apps.
func New(cfg Config) *Router {
	r := &Router{
		domain:    normalizeHost(cfg.Domain),
		log:       cfg.Logger,
		accessLog: cfg.AccessLog,
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.transport = newTransport(cfg)
	r.proxy = r.newProxy()
	r.routes.Store(&routeTable{})
	return r
}

// Set replaces the app's backends. An empty list keeps the app known with
// no web instance: its requests get 503.
func (r *Router) Set(app string, backends []Backend) {
	rt := &route{backends: append([]Backend(nil), backends...)}
	r.update(func(t routeTable) { t[strings.ToLower(app)] = rt })
}

// Remove forgets the app: its requests get 404.
func (r *Router) Remove(app string) {
	r.update(func(t routeTable) { delete(t, strings.ToLower(app)) })
}

// update publishes a modified copy of the route table.
func (r *Router) update(change func(routeTable)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := maps.Clone(*r.routes.Load())
	if t == nil {
		t = routeTable{}
	}
	change(t)
	r.routes.Store(&t)
}

// lookup returns the route of app, or nil.
func (r *Router) lookup(app string) *route {
	return (*r.routes.Load())[app]
}

// pick returns the next backend in round-robin order.
func (rt *route) pick() (Backend, bool) {
	n := uint64(len(rt.backends))
	if n == 0 {
		return Backend{}, false
	}
	return rt.backends[(rt.next.Add(1)-1)%n], true
}

// Handler returns the Router as an http.Handler.
func (r *Router) Handler() http.Handler { return r }

// Close closes idle connections to backends.
func (r *Router) Close() { r.transport.CloseIdleConnections() }
