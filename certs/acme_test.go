package certs

import (
	"context"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"paas/internal/acmetest"
)

// acmeConfig is a Manager's config against Pebble with routes r.
func acmeConfig(t *testing.T, a *acmetest.Server, path string, r routes) Config {
	st := openStore(t, path)
	t.Cleanup(func() { st.Close() })
	return Config{
		Store: st, Email: "ops@example.com", CA: a.DirURL, RootCAs: a.TLSRoots,
		Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf,
		disableARI: true,
	}
}

func TestACMEChallenges(t *testing.T) {
	for _, tc := range []struct {
		name          string
		http, tlsALPN bool
	}{
		{"http-01", true, false},
		{"tls-alpn-01", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			httpLn, httpsLn := listeners(t)
			a := acmetest.Start(t, port(httpLn), port(httpsLn), 0)
			host := "shop-" + strings.ReplaceAll(tc.name, "-", "") + ".example.com"
			r := routes{host: "shop"}
			cfg := acmeConfig(t, a, dbPath(t), r)
			cfg.disableHTTP01, cfg.disableTLSALPN01 = !tc.http, !tc.tlsALPN
			fd := serve(t, cfg, httpLn, httpsLn)

			if got := get(t, fd.httpsAddr, host, a.Issuer); got != "hello "+host+" HTTP/2.0" {
				t.Fatalf("body %q", got)
			}
			leaf, err := handshake(fd.httpsAddr, host, a.Issuer)
			if err != nil {
				t.Fatal(err)
			}
			if err := leaf.VerifyHostname(host); err != nil {
				t.Fatal(err)
			}
			if n := a.Orders(); n != 1 {
				t.Errorf("%d orders, want 1", n)
			}
			certs, err := fd.m.List(context.Background(), "shop")
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 1 || certs[0].Source != SourceACME || !slices.Equal(certs[0].Hosts, []string{host}) ||
				!certs[0].NotAfter.Equal(leaf.NotAfter) || !strings.Contains(certs[0].Issuer, "Pebble") {
				t.Errorf("List = %+v", certs)
			}
		})
	}
}

func TestACMEUnroutedNameGetsNoOrder(t *testing.T) {
	httpLn, httpsLn := listeners(t)
	a := acmetest.Start(t, port(httpLn), port(httpsLn), 0)
	fd := serve(t, acmeConfig(t, a, dbPath(t), routes{"shop.example.com": "shop"}), httpLn, httpsLn)
	for _, name := range []string{"random.example.com", "shop.example.com.evil.test", ""} {
		if _, err := handshake(fd.httpsAddr, name, a.Issuer); err == nil {
			t.Errorf("handshake for %q succeeded", name)
		}
	}
	if n := a.Orders(); n != 0 {
		t.Errorf("%d orders for unrouted names, want 0", n)
	}
}

func TestACMERestartReusesStoredCertificate(t *testing.T) {
	httpLn, httpsLn := listeners(t)
	a := acmetest.Start(t, port(httpLn), port(httpsLn), 0)
	path := dbPath(t)
	r := routes{"blog.example.com": "blog"}

	st := openStore(t, path)
	cfg := Config{
		Store: st, Email: "ops@example.com", CA: a.DirURL, RootCAs: a.TLSRoots,
		Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf, disableARI: true,
	}
	first := serve(t, cfg, httpLn, httpsLn)
	requireListed(t, first.m, "blog", nil)
	leaf1, err := handshake(first.httpsAddr, "blog.example.com", a.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	requireListed(t, first.m, "blog", leaf1)
	first.stop()
	st.Close()

	cfg.Store = openStore(t, path)
	t.Cleanup(func() { cfg.Store.Close() })
	httpLn, httpsLn = first.relisten(t)
	second := serve(t, cfg, httpLn, httpsLn)
	// Read from the store before any handshake: listing orders nothing.
	requireListed(t, second.m, "blog", leaf1)
	leaf2, err := handshake(second.httpsAddr, "blog.example.com", a.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if leaf2.SerialNumber.Cmp(leaf1.SerialNumber) != 0 {
		t.Errorf("restarted manager serves serial %s, want the stored %s", leaf2.SerialNumber, leaf1.SerialNumber)
	}
	if n := a.Orders(); n != 1 {
		t.Errorf("%d orders, want 1 (the restart must reuse the stored certificate)", n)
	}
}

func TestACMERenewal(t *testing.T) {
	httpLn, httpsLn := listeners(t)
	// Certificates live 100 s and are renewed in the last 98 % of that:
	// two seconds after issue.
	a := acmetest.Start(t, port(httpLn), port(httpsLn), 100)
	cfg := acmeConfig(t, a, dbPath(t), routes{"api.example.com": "api"})
	cfg.renewalRatio = 0.98
	fd := serve(t, cfg, httpLn, httpsLn)
	leaf1, err := handshake(fd.httpsAddr, "api.example.com", a.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		leaf, err := handshake(fd.httpsAddr, "api.example.com", a.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.SerialNumber.Cmp(leaf1.SerialNumber) != 0 {
			// Issued within the same second, both may expire in the
			// same second: certificate times have no finer grain.
			if leaf.NotAfter.Before(leaf1.NotAfter) {
				t.Errorf("renewed certificate expires %s, before the first's %s", leaf.NotAfter, leaf1.NotAfter)
			}
			if n := a.Orders(); n < 2 {
				t.Errorf("a new certificate after %d orders", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("certificate not renewed within 60s (%d orders)", a.Orders())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := a.Orders(); n < 2 {
		t.Errorf("%d orders, want a second one for the renewal", n)
	}
}

// requireListed checks that m lists app's one host as an ACME certificate:
// leaf's, or none yet when leaf is nil.
func requireListed(t *testing.T, m *Manager, app string, leaf *x509.Certificate) {
	t.Helper()
	list, err := m.List(context.Background(), app)
	if err != nil || len(list) != 1 || list[0].Source != SourceACME {
		t.Fatalf("List = %+v, %v; want one ACME row", list, err)
	}
	got := list[0]
	switch {
	case leaf == nil && (!got.NotAfter.IsZero() || got.Issuer != ""):
		t.Errorf("listed %+v before any certificate was obtained", got)
	case leaf != nil && (!got.NotAfter.Equal(leaf.NotAfter) || got.Issuer != leaf.Issuer.CommonName):
		t.Errorf("listed %+v, want the stored certificate (issuer %q, expiry %s)", got, leaf.Issuer.CommonName, leaf.NotAfter)
	}
}
