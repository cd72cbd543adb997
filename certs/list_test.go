package certs

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"paas"
)

// row is a listed Cert as a test compares it.
type row struct {
	hosts, source, issuer string
	issued                bool
}

func rows(list []paas.Cert) []row {
	var out []row
	for _, c := range list {
		out = append(out, row{hosts: strings.Join(c.Hosts, ","), source: c.Source, issuer: c.Issuer, issued: !c.NotAfter.IsZero()})
	}
	return out
}

// orderedRoutes is a host table that lists each app's hosts in the order
// given, as the router does (default host first).
type orderedRoutes [][2]string // host, app

func (r orderedRoutes) appFor(host string) (string, bool) {
	for _, hr := range r {
		if hr[0] == normalizeName(host) {
			return hr[1], true
		}
	}
	return "", false
}

func (r orderedRoutes) hostsOf(app string) []string {
	var out []string
	for _, hr := range r {
		if hr[1] == app {
			out = append(out, hr[0])
		}
	}
	return out
}

// TestListEveryHost lists one row per routed host, in the router's order,
// with ACME off: a local leaf once a handshake made it, the local CA to
// come before that, the user's certificate, nothing for a host outside
// localhost, then the user's certificates that serve no host. Listing
// makes no certificate.
func TestListEveryHost(t *testing.T) {
	r := orderedRoutes{
		{"shop.localhost", "shop"}, {"*.shop.localhost", "shop"}, {"www.shop.test", "shop"},
		{"api.shop.test", "shop"}, {"blog.localhost", "blog"},
	}
	st := openStore(t, dbPath(t))
	t.Cleanup(func() { st.Close() })
	// The closures read r, which the test changes.
	m, err := New(Config{
		Store:   st,
		Allowed: func(h string) bool { _, ok := r.appFor(h); return ok },
		AppFor:  func(h string) (string, bool) { return r.appFor(h) },
		HostsOf: func(app string) []string { return r.hostsOf(app) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()

	list := func(app string) []row {
		t.Helper()
		l, err := m.List(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		return rows(l)
	}
	want := []row{
		{"shop.localhost", SourceLocal, localRootName, false},
		{"*.shop.localhost", SourceLocal, localRootName, false},
		{"www.shop.test", SourceNone, "", false},
		{"api.shop.test", SourceNone, "", false},
	}
	if got := list("shop"); !slices.Equal(got, want) {
		t.Errorf("before any handshake:\n got %+v\nwant %+v", got, want)
	}
	if got := list("shop"); !slices.Equal(got, want) {
		t.Errorf("listing made a certificate:\n got %+v\nwant %+v", got, want)
	}

	if _, err := m.getCertificate(helloFor("shop.localhost")); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"www.shop.test", "api.shop.test"} {
		c, k := selfSigned(t, []string{host}, now.Add(-time.Hour), now.Add(48*time.Hour))
		if _, err := m.Add(ctx, "shop", c, k); err != nil {
			t.Fatal(err)
		}
	}
	want = []row{
		{"shop.localhost", SourceLocal, localRootName, true},
		{"*.shop.localhost", SourceLocal, localRootName, false},
		{"www.shop.test", SourceUser, "Test Issuer", true},
		{"api.shop.test", SourceUser, "Test Issuer", true},
	}
	if got := list("shop"); !slices.Equal(got, want) {
		t.Errorf("after a handshake and certs:add:\n got %+v\nwant %+v", got, want)
	}

	// api.shop.test is no longer routed to shop: its certificate serves
	// nothing and is listed last, by its names.
	r = slices.DeleteFunc(slices.Clone(r), func(hr [2]string) bool { return hr[0] == "api.shop.test" })
	want = append(want[:3], row{"api.shop.test", SourceUnused, "Test Issuer", true})
	if got := list("shop"); !slices.Equal(got, want) {
		t.Errorf("after the domain went:\n got %+v\nwant %+v", got, want)
	}
	if got, want := list("blog"), []row{{"blog.localhost", SourceLocal, localRootName, false}}; !slices.Equal(got, want) {
		t.Errorf("blog: %+v, want %+v", got, want)
	}
}

// TestRemoveApp deletes the app's certificates, in memory and in the
// store, and no other app's.
func TestRemoveApp(t *testing.T) {
	r := routes{"www.shop.test": "shop", "shop.test": "shop", "www.shopping.test": "shopping"}
	path := dbPath(t)
	st := openStore(t, path)
	m, err := New(Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf})
	if err != nil {
		t.Fatal(err)
	}
	addOwnCerts(t, m, r)
	if err := m.RemoveApp("shop"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveApp("shop"); err != nil {
		t.Errorf("removing again: %v", err)
	}
	if err := m.RemoveApp(""); err == nil {
		t.Error("RemoveApp(\"\") succeeded")
	}
	check := func(m *Manager, when string) {
		t.Helper()
		for _, h := range []string{"www.shop.test", "shop.test"} {
			if _, err := m.getCertificate(helloFor(h)); err == nil {
				t.Errorf("%s: %s is still served", when, h)
			}
		}
		if _, err := m.getCertificate(helloFor("www.shopping.test")); err != nil {
			t.Errorf("%s: shopping's certificate: %v", when, err)
		}
	}
	check(m, "at once")
	st.Close()
	st = openStore(t, path)
	t.Cleanup(func() { st.Close() })
	m2, err := New(Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf})
	if err != nil {
		t.Fatal(err)
	}
	check(m2, "after a restart")
	if keys, err := st.CertKeys(userPrefix + "shop/"); err != nil || len(keys) != 0 {
		t.Errorf("store keys left: %q, %v", keys, err)
	}
}

func TestRemoveGone(t *testing.T) {
	r := routes{"shop.test": "shop", "blog.test": "blog", "shopping.test": "shopping"}
	st := openStore(t, dbPath(t))
	t.Cleanup(func() { st.Close() })
	m, err := New(Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf})
	if err != nil {
		t.Fatal(err)
	}
	addOwnCerts(t, m, r)
	var asked []string
	err = m.RemoveGone(func(app string) bool {
		asked = append(asked, app)
		return app != "shop"
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"blog", "shop", "shopping"}) {
		t.Errorf("asked about %v", asked)
	}
	if _, err := m.getCertificate(helloFor("shop.test")); err == nil {
		t.Error("the certificate of a gone app is still served")
	}
	for _, h := range []string{"blog.test", "shopping.test"} {
		if _, err := m.getCertificate(helloFor(h)); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

// addOwnCerts gives every host of r a certificate of its own app.
func addOwnCerts(t *testing.T, m *Manager, r routes) {
	t.Helper()
	now := time.Now()
	for host, app := range r {
		c, k := selfSigned(t, []string{host}, now.Add(-time.Hour), now.Add(48*time.Hour))
		if _, err := m.Add(context.Background(), app, c, k); err != nil {
			t.Fatal(err)
		}
	}
}
