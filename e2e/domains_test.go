package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDomains routes custom domains to an app through the real router:
// host variants, one owner per host, wildcards, international names,
// default-domain=false, refused input that changes nothing, a restart
// that keeps it all, and apps:destroy freeing the hosts. Exec runtime; the
// docker runtime routes the same way.
func TestDomains(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	dir := s.newRepo("python", "hello")
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet("hello", "/", "hello one from web.1")
	requireOK(t, "apps:create other", s.ssh("apps:create other"))

	t.Run("add", func(t *testing.T) {
		r := s.ssh("domains:add hello WWW.Example.test.")
		requireOK(t, "domains:add", r)
		if r.stdout != "Added www.example.test to hello\n" {
			t.Fatalf("domains:add said %q", r.stdout)
		}
		for _, host := range []string{"www.example.test", "WWW.EXAMPLE.TEST", "www.example.test.", "www.example.test:8080", "Www.Example.Test.:80"} {
			requireHost(t, s, host, 200, "hello one from web.1")
		}
		requireHost(t, s, "example.test", 404, "")
		requireHost(t, s, "www.example.test.other", 404, "")
	})

	t.Run("taken", func(t *testing.T) {
		requireFail(t, "taking hello's host", s.ssh("domains:add other www.example.test"), "www.example.test is already a domain of app hello")
		requireFail(t, "taking it in another spelling", s.ssh("domains:add other WWW.example.TEST."), "www.example.test is already a domain of app hello")
		requireFail(t, "adding it again", s.ssh("domains:add hello www.example.test"), "www.example.test is already a domain of hello")
		requireHost(t, s, "www.example.test", 200, "hello one")
	})

	t.Run("wildcard", func(t *testing.T) {
		requireOK(t, "domains:add wildcard", s.ssh("domains:add hello *.wild.test"))
		requireHost(t, s, "a.wild.test", 200, "hello one")
		requireHost(t, s, "A.Wild.Test.:8080", 200, "hello one")
		requireHost(t, s, "wild.test", 404, "")
		requireHost(t, s, "a.b.wild.test", 404, "")
	})

	t.Run("idna", func(t *testing.T) {
		r := s.ssh("domains:add hello bücher.test")
		requireOK(t, "domains:add bücher.test", r)
		if !strings.Contains(r.stdout, "xn--bcher-kva.test") {
			t.Fatalf("domains:add said %q", r.stdout)
		}
		requireHost(t, s, "xn--bcher-kva.test", 200, "hello one")
		r = s.ssh("domains hello")
		requireOK(t, "domains", r)
		if want := "HOST                TYPE\nhello.localhost     default\n*.wild.test         custom\nwww.example.test    custom\nxn--bcher-kva.test  custom\n"; r.stdout != want {
			t.Fatalf("domains:\n%s\nwant\n%s", r.stdout, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		before := s.ssh("domains hello").stdout
		proxyBefore := s.ssh("proxy hello").stdout
		requireFail(t, "a port", s.ssh("domains:add hello www.example.test:8080"), "leave out the port")
		requireFail(t, "an IP address", s.ssh("domains:add hello 127.0.0.1"), "IP addresses cannot be domains")
		requireFail(t, "a wildcard TLD", s.ssh("domains:add hello *.com"), "at least two labels after it")
		requireFail(t, "a single label", s.ssh("domains:add hello intranet"), "at least two labels")
		requireFail(t, "another app's default host", s.ssh("domains:add hello other.localhost"), "directly below the platform domain localhost")
		requireFail(t, "an unknown host", s.ssh("domains:remove hello nope.example.test"), "nope.example.test is not a domain of hello")
		requireFail(t, "an unknown proxy key", s.ssh("proxy:set hello hsts=true gzip=on"), `unknown proxy setting "gzip"`)
		requireFail(t, "a bad proxy value", s.ssh("proxy:set hello hsts=true max-body=0"), `invalid max-body "0"`)
		if after := s.ssh("domains hello").stdout; after != before {
			t.Fatalf("refused input changed the domains:\n%s\nwas\n%s", after, before)
		}
		if after := s.ssh("proxy hello").stdout; after != proxyBefore {
			t.Fatalf("refused input changed the settings:\n%s\nwas\n%s", after, proxyBefore)
		}
		requireHost(t, s, "other.localhost", 503, "")
	})

	t.Run("default-domain", func(t *testing.T) {
		r := s.ssh("proxy:set hello default-domain=false")
		requireOK(t, "proxy:set", r)
		if !strings.Contains(r.stdout, "default-domain=false\n") {
			t.Fatalf("proxy:set said:\n%s", r.stdout)
		}
		requireHost(t, s, "hello.localhost", 404, "")
		requireHost(t, s, "www.example.test", 200, "hello one")
		if r := s.ssh("domains hello"); strings.Contains(r.stdout, "hello.localhost") {
			t.Fatalf("domains lists the default host while it is off:\n%s", r.stdout)
		}
	})

	// The settings live in the store: a new paasd routes the same way
	// from its first request.
	t.Run("restart", func(t *testing.T) {
		s2 := s.successor("PAAS_RUNTIME=exec")
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			t.Fatal("the first paasd did not exit after handing over")
		}
		s = s2
		requireHost(t, s, "www.example.test", 200, "hello one")
		requireHost(t, s, "a.wild.test", 200, "hello one")
		requireHost(t, s, "hello.localhost", 404, "")
		if r := s.ssh("proxy hello"); !strings.Contains(r.stdout, "default-domain=false\n") {
			t.Fatalf("proxy after restart:\n%s", r.stdout)
		}
		requireOK(t, "proxy:set", s.ssh("proxy:set hello default-domain="))
		s.mustGet("hello", "/", "hello one")
	})

	t.Run("remove", func(t *testing.T) {
		r := s.ssh("domains:remove hello www.example.test")
		requireOK(t, "domains:remove", r)
		requireHost(t, s, "www.example.test", 404, "")
		requireHost(t, s, "a.wild.test", 200, "hello one")
	})

	t.Run("destroy frees the hosts", func(t *testing.T) {
		requireOK(t, "apps:destroy", s.ssh("apps:destroy hello --confirm hello"))
		requireHost(t, s, "a.wild.test", 404, "")
		requireOK(t, "taking a freed host", s.ssh("domains:add other *.wild.test"))
		requireOK(t, "taking a freed host", s.ssh("domains:add other XN--BCHER-KVA.test"))
		// other has no instance: its hosts answer 503, not 404.
		requireHost(t, s, "a.wild.test", 503, "")
		requireHost(t, s, "xn--bcher-kva.test", 503, "")
		if r := s.ssh("domains other"); r.stdout != "HOST                TYPE\nother.localhost     default\n*.wild.test         custom\nxn--bcher-kva.test  custom\n" {
			t.Fatalf("domains other:\n%s", r.stdout)
		}
	})
}

// requireHost sends GET / to the router with the given Host header and
// requires the status and, when want is set, a body containing it.
func requireHost(t *testing.T, s *server, host string, status int, want string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.httpAddr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("GET with Host %s: %v", host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || !strings.Contains(string(body), want) {
		t.Fatalf("GET with Host %q = %d %q, want %d containing %q", host, resp.StatusCode, body, status, want)
	}
}
