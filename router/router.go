// Package router is the HTTP front door: it maps a request's host to the
// web instances of one app, forwards the request to one of them with the
// usual forwarding headers, and writes a request line to the app's log.
// It counts the requests in flight to each instance so that a caller can
// drain instances it has taken out of service, and it can hold an app in
// maintenance mode.
package router

import (
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
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
	// Observe, when set, is told of each request for a known app: the
	// status it was answered with and the time from its start to the end
	// of the response. It is called on the request path and must be cheap
	// and not block.
	Observe func(app string, status int, d time.Duration)
	// ResponseHeaderTimeout bounds the wait for an instance's response
	// headers; past it the client gets 504. Zero means 30s.
	ResponseHeaderTimeout time.Duration
	// DialTimeout bounds connecting to an instance. Zero means 5s.
	DialTimeout time.Duration
	// MaxBody is the largest request body in bytes; larger ones get 413.
	// Zero means no limit. An app's Options.MaxBody overrides it.
	MaxBody int64
	// TrustedProxies are the peers whose inbound X-Forwarded-* headers
	// are kept (and appended to); from anyone else they are replaced.
	TrustedProxies []netip.Prefix
	// HTTPSPort is the port HTTPS redirects point at; 0 means 443.
	HTTPSPort int
}

// Router routes requests by host to app backends. It is an http.Handler and
// is safe for concurrent use; Set, Remove, SetMaintenance and Drain may be
// called while serving.
type Router struct {
	domain        string
	log           *slog.Logger
	accessLog     func(app, line string)
	observe       func(app string, status int, d time.Duration)
	proxy         *httputil.ReverseProxy
	dialer        *net.Dialer
	headerTimeout time.Duration
	dialTimeout   time.Duration
	maxBody       int64
	trusted       []netip.Prefix
	httpsPort     string // ":8443", or "" for 443

	mu        sync.Mutex            // serialises writers of routes; guards endpoints
	routes    atomic.Pointer[table] // read without locking
	endpoints map[string]*endpoint  // by address: those routed and those not yet drained
}

// routeTable is an immutable map from app name to its route.
type routeTable map[string]*route

// table is one published, immutable state of routing: the routes and an
// index of the custom hosts that name them.
type table struct {
	apps  routeTable
	hosts map[string]string // custom host -> app
	wild  map[string]string // "example.com" of "*.example.com" -> app
}

// newTable indexes apps' custom domains.
func newTable(apps routeTable) *table {
	t := &table{apps: apps, hosts: map[string]string{}, wild: map[string]string{}}
	for name, rt := range apps {
		for _, d := range rt.opts.Domains {
			if rest, ok := strings.CutPrefix(d, "*."); ok {
				t.wild[rest] = name
			} else {
				t.hosts[d] = name
			}
		}
	}
	return t
}

// route is the state of one app. It is never modified after it is
// published.
type route struct {
	app         string
	targets     []target
	maintenance bool
	opts        Options
	next        atomic.Uint64 // round-robin counter
}

// clone returns a new route with old's state and no targets; old may be
// nil.
func (old *route) clone() *route {
	rt := &route{}
	if old != nil {
		rt.targets = old.targets
		rt.maintenance = old.maintenance
		rt.opts = old.opts
	}
	return rt
}

// target is one backend of a route with its endpoint.
type target struct {
	Backend
	ep *endpoint
}

// New returns a Router with no apps.
func New(cfg Config) *Router {
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = defaultDialTimeout
	}
	headerTimeout := cfg.ResponseHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = defaultResponseHeaderTimeout
	}
	r := &Router{
		domain:        normalizeHost(cfg.Domain),
		log:           cfg.Logger,
		accessLog:     cfg.AccessLog,
		observe:       cfg.Observe,
		dialer:        &net.Dialer{KeepAlive: 30 * time.Second},
		headerTimeout: headerTimeout,
		dialTimeout:   dialTimeout,
		maxBody:       cfg.MaxBody,
		trusted:       cfg.TrustedProxies,
		endpoints:     make(map[string]*endpoint),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPSPort != 0 && cfg.HTTPSPort != 443 {
		r.httpsPort = ":" + strconv.Itoa(cfg.HTTPSPort)
	}
	r.proxy = r.newProxy()
	r.routes.Store(newTable(routeTable{}))
	return r
}

// Set replaces the app's backends. An empty list keeps the app known with
// no web instance: its requests get 503. Requests that start after Set
// returns go to the new backends only; those still in flight to a backend
// Set dropped can be waited for with Drain. The app's maintenance mode is
// kept.
func (r *Router) Set(app string, backends []Backend) {
	r.update(app, func(old *route) *route {
		rt := old.clone()
		rt.targets = make([]target, len(backends))
		for i, b := range backends {
			rt.targets[i] = target{Backend: b, ep: r.endpointLocked(b.Addr)}
		}
		return rt
	})
}

// Remove forgets the app, maintenance mode included: its requests get
// 404. Connections to its backends are closed once their requests in
// flight have finished.
func (r *Router) Remove(app string) {
	r.update(app, func(*route) *route { return nil })
}

// update publishes a copy of the route table in which app's route is
// change(the current one), or absent when change returns nil. Then it
// retires the endpoints no route names any more. change runs with r.mu
// held.
func (r *Router) update(app string, change func(old *route) *route) {
	app = strings.ToLower(app)
	r.mu.Lock()
	defer r.mu.Unlock()
	t := maps.Clone(r.routes.Load().apps)
	if rt := change(t[app]); rt != nil {
		rt.app = app
		t[app] = rt
	} else {
		delete(t, app)
	}
	r.routes.Store(newTable(t))
	r.retireUnusedLocked(t)
}

// lookup returns the route of app, or nil.
func (r *Router) lookup(app string) *route {
	return r.routes.Load().apps[app]
}

// pick returns the next backend in round-robin order that is not marked
// down, or the next one when all are; nil when there is none.
func (rt *route) pick(now int64) *target {
	n := uint64(len(rt.targets))
	if n == 0 {
		return nil
	}
	start := rt.next.Add(1) - 1
	for k := range n {
		if tg := &rt.targets[(start+k)%n]; !tg.ep.isDown(now) {
			return tg
		}
	}
	return &rt.targets[start%n]
}

// other returns the first backend after failed that is not marked down,
// nil when there is none.
func (rt *route) other(failed *target, now int64) *target {
	n := len(rt.targets)
	at := 0
	for i := range rt.targets {
		if &rt.targets[i] == failed {
			at = i
		}
	}
	for k := 1; k < n; k++ {
		if tg := &rt.targets[(at+k)%n]; !tg.ep.isDown(now) {
			return tg
		}
	}
	return nil
}

// Handler returns the Router as an http.Handler.
func (r *Router) Handler() http.Handler { return r }

// Close closes idle connections to backends.
func (r *Router) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.endpoints {
		e.transport.CloseIdleConnections()
	}
}
