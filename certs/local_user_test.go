package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/internal/tlstest"
)

// selfSigned makes a certificate for names valid from nb to na.
func selfSigned(t testing.TB, names []string, nb, na time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, _ = tlstest.SelfSigned(t, "Test Issuer", names, nb, na)
	return certPEM, keyPEM
}

func pool(t testing.TB, certPEM []byte) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(certPEM) {
		t.Fatal("no certificate in PEM")
	}
	return p
}

func TestLocalCA(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "paas.db")
	caFile := filepath.Join(dir, "local-ca.pem")
	r := routes{"web.localhost": "web", "localhost": "root-app", "api.example.com": "api"}
	st := openStore(t, path)
	httpLn, httpsLn := listeners(t)
	fd := serve(t, Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf, LocalCAFile: caFile}, httpLn, httpsLn)
	rootPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := pool(t, rootPEM)
	for _, name := range []string{"web.localhost", "WEB.localhost.", "localhost"} {
		leaf, err := handshake(fd.httpsAddr, name, roots)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if leaf.PublicKeyAlgorithm != x509.ECDSA {
			t.Errorf("%s: key %s, want ECDSA", name, leaf.PublicKeyAlgorithm)
		}
	}
	if got := get(t, fd.httpsAddr, "web.localhost", roots); got != "hello web.localhost HTTP/2.0" {
		t.Errorf("body %q", got)
	}
	// Unrouted names, and names outside localhost with ACME off, fail.
	for _, name := range []string{"other.localhost", "api.example.com", "random.example.com"} {
		if _, err := handshake(fd.httpsAddr, name, roots); err == nil {
			t.Errorf("handshake for %s succeeded", name)
		}
	}
	certs, err := fd.m.List(context.Background(), "web")
	if err != nil || len(certs) != 1 || certs[0].Source != SourceLocal || certs[0].Issuer != localRootName || certs[0].NotAfter.IsZero() || !slices.Equal(certs[0].Hosts, []string{"web.localhost"}) {
		t.Errorf("List = %+v, %v", certs, err)
	}

	// A new Manager on the same store keeps the root.
	fd.stop()
	st.Close()
	os.Remove(caFile)
	st2 := openStore(t, path)
	t.Cleanup(func() { st2.Close() })
	m2, err := New(Config{Store: st2, Allowed: r.allowed, LocalCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(caFile)
	if string(again) != string(rootPEM) || string(m2.LocalRootPEM()) != string(rootPEM) {
		t.Error("the local CA's root changed across a restart")
	}
}

func TestUserCertificates(t *testing.T) {
	r := routes{"shop.example.com": "shop", "www.shop.example.com": "shop", "shop.localhost": "shop", "blog.example.com": "blog", "x.shop.example.com": "blog"}
	st := openStore(t, dbPath(t))
	t.Cleanup(func() { st.Close() })
	httpLn, httpsLn := listeners(t)
	fd := serve(t, Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf}, httpLn, httpsLn)
	ctx := context.Background()
	now := time.Now()

	userErr := func(what string, err error, want string) {
		t.Helper()
		msg, ok := paas.UserMessage(err)
		if err == nil || !ok || !strings.Contains(msg, want) {
			t.Errorf("%s: %v, want a user error containing %q", what, err, want)
		}
	}
	c1, k1 := selfSigned(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	_, otherKey := selfSigned(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	_, err := fd.m.Add(ctx, "shop", c1, otherKey)
	userErr("mismatched key", err, "does not match")
	_, err = fd.m.Add(ctx, "shop", []byte("junk"), k1)
	userErr("no certificate", err, "no PEM certificate")
	old, oldKey := selfSigned(t, []string{"shop.example.com"}, now.Add(-48*time.Hour), now.Add(-time.Hour))
	_, err = fd.m.Add(ctx, "shop", old, oldKey)
	userErr("expired", err, "expired")
	foreign, foreignKey := selfSigned(t, []string{"shop.example.com", "blog.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	_, err = fd.m.Add(ctx, "shop", foreign, foreignKey)
	userErr("another app's host", err, "blog.example.com, which is not a host of shop")

	got, err := fd.m.Add(ctx, "shop", c1, k1)
	if err != nil || got.Source != SourceUser || got.Issuer != "Test Issuer" || !slices.Equal(got.Hosts, []string{"shop.example.com"}) {
		t.Fatalf("Add = %+v, %v", got, err)
	}
	leaf, err := handshake(fd.httpsAddr, "shop.example.com", pool(t, c1))
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("shop.example.com"); err != nil {
		t.Error(err)
	}

	// A user certificate wins over the local CA, and a newer one for the
	// same name replaces the older.
	cl, kl := selfSigned(t, []string{"shop.localhost"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	if _, err := fd.m.Add(ctx, "shop", cl, kl); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(fd.httpsAddr, "shop.localhost", pool(t, cl)); err != nil {
		t.Errorf("user certificate not chosen over the local CA: %v", err)
	}
	wild, wildKey := selfSigned(t, []string{"*.shop.example.com", "shop.example.com"}, now.Add(-time.Hour), now.Add(72*time.Hour))
	if _, err := fd.m.Add(ctx, "shop", wild, wildKey); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(fd.httpsAddr, "www.shop.example.com", pool(t, wild)); err != nil {
		t.Errorf("wildcard: %v", err)
	}
	if _, err := handshake(fd.httpsAddr, "shop.example.com", pool(t, wild)); err != nil {
		t.Errorf("the newer certificate does not serve: %v", err)
	}
	// x.shop.example.com is blog's: shop's wildcard must not serve it.
	if _, err := handshake(fd.httpsAddr, "x.shop.example.com", pool(t, wild)); err == nil {
		t.Error("shop's wildcard served blog's host")
	}
	list, err := fd.m.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, c := range list {
		sources = append(sources, c.Source+":"+strings.Join(c.Hosts, ","))
	}
	slices.Sort(sources)
	if want := []string{"user:shop.example.com", "user:shop.localhost", "user:www.shop.example.com"}; !slices.Equal(sources, want) {
		t.Errorf("List = %q, want %q (the replaced certificate gone)", sources, want)
	}

	userErr("remove another app's", fd.m.Remove(ctx, "blog", "shop.example.com"), "no certificate of its own")
	if err := fd.m.Remove(ctx, "shop", "shop.localhost"); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(fd.httpsAddr, "shop.localhost", pool(t, cl)); err == nil {
		t.Error("the removed certificate still serves")
	}
	// Survives a new Manager on the same store.
	m2, err := New(Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m2.getCertificate(helloFor("www.shop.example.com"))
	if err != nil || !c.Leaf.Equal(mustParse(t, wild)) {
		t.Errorf("after restart: %v", err)
	}
}

func mustParse(t testing.TB, certPEM []byte) *x509.Certificate {
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func FuzzAdd(f *testing.F) {
	now := time.Now()
	c, k := selfSigned(f, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	f.Add(c, k)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), k)
	r := routes{"shop.example.com": "shop"}
	st := openStore(f, filepath.Join(f.TempDir(), "paas.db"))
	f.Cleanup(func() { st.Close() })
	m, err := New(Config{Store: st, Allowed: r.allowed, AppFor: r.appFor, HostsOf: r.hostsOf})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		_, err := m.Add(context.Background(), "shop", certPEM, keyPEM)
		if err != nil {
			if _, ok := paas.UserMessage(err); !ok {
				t.Fatalf("not a user error: %v", err)
			}
		}
	})
}
