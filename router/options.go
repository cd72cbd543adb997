package router

import (
	"bytes"
	"slices"
	"strings"

	"paas"
)

// Options are the routing settings of one app.
type Options struct {
	// Domains are the app's custom hosts, normalised (paas.NormalizeDomain);
	// "*.example.com" matches any one label below example.com.
	Domains []string
	paas.ProxySettings
}

// SetOptions replaces the app's options, making the app known (with no
// backend) if it was not. A custom host routes to one app: the caller
// keeps hosts unique across apps.
func (r *Router) SetOptions(app string, o Options) {
	o.Domains = slices.Clone(o.Domains)
	r.update(app, func(old *route) *route {
		rt := old.clone()
		rt.opts = o
		return rt
	})
}

// AppFor returns the app a request for host would reach: host may have
// any case, a port and a trailing dot.
func (r *Router) AppFor(host string) (string, bool) {
	app, rt := r.routeFor(normalizeHost(host))
	return app, rt != nil
}

// Hosts lists the hosts routed to app: APP.DOMAIN unless turned off, then
// its custom domains.
func (r *Router) Hosts(app string) []string {
	rt := r.lookup(strings.ToLower(app))
	if rt == nil {
		return nil
	}
	var hosts []string
	if !rt.opts.NoDefaultDomain && r.domain != "" {
		hosts = append(hosts, strings.ToLower(app)+"."+r.domain)
	}
	return append(hosts, rt.opts.Domains...)
}

// routeFor maps a normalised host to its app and route: a custom host
// first, then APP.DOMAIN, then a wildcard domain. It costs a few map
// lookups whatever the number of apps.
func (r *Router) routeFor(host string) (string, *route) {
	t := r.routes.Load()
	if app, ok := t.hosts[host]; ok {
		return app, t.apps[app]
	}
	if app := appFor(host, r.domain); app != "" {
		if rt := t.apps[app]; rt != nil && !rt.opts.NoDefaultDomain {
			return app, rt
		}
	}
	if _, rest, ok := strings.Cut(host, "."); ok {
		if app, ok := t.wild[rest]; ok {
			return app, t.apps[app]
		}
	}
	return "", nil
}

// routeForBytes is routeFor for a normalised host held in bytes; it
// allocates nothing.
func (r *Router) routeForBytes(host []byte) *route {
	t := r.routes.Load()
	if app, ok := t.hosts[string(host)]; ok {
		return t.apps[app]
	}
	if n := len(host) - len(r.domain) - 1; n > 0 && host[n] == '.' && string(host[n+1:]) == r.domain &&
		bytes.IndexByte(host[:n], '.') < 0 {
		if rt := t.apps[string(host[:n])]; rt != nil && !rt.opts.NoDefaultDomain {
			return rt
		}
	}
	if i := bytes.IndexByte(host, '.'); i >= 0 {
		if app, ok := t.wild[string(host[i+1:])]; ok {
			return t.apps[app]
		}
	}
	return nil
}
