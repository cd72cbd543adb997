package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"paas"
)

const (
	testCertPEM = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
	testCAPEM   = "-----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----\n"
	testKeyPEM  = "-----BEGIN EC PRIVATE KEY-----\nBwgJ\n-----END EC PRIVATE KEY-----\n"
)

func runIn(s *Server, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	st := s.dispatch(&request{ctx: context.Background(), by: "alice", user: user{name: "alice", admin: true}, args: args, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb})
	return result{st, out.String(), errb.String()}
}

func TestCertsCommands(t *testing.T) {
	s, f := newTestServer(t)
	if r := run(s, "certs", "web-app"); r.status != 0 || r.stdout != "" || r.stderr != "web-app has no hosts to serve over HTTPS: add one with domains:add\n" {
		t.Errorf("certs (none): %+v", r)
	}
	// Key first, then the chain, with text around: the chain keeps its
	// order and the key is found.
	in := "key:\n" + testKeyPEM + "leaf:\n" + testCertPEM + testCAPEM
	r := runIn(s, in, "certs:add", "web-app")
	if r.status != 0 || r.stdout != "Added a certificate for www.example.com on web-app (issuer Test CA, expires 2027-01-02 03:04:05 UTC)\n" {
		t.Fatalf("certs:add: %+v", r)
	}
	got := f.certState().added["web-app"]
	if len(got) != 1 || string(got[0][0]) != testCertPEM+testCAPEM || string(got[0][1]) != testKeyPEM {
		t.Errorf("platform got %q", got)
	}
	want := "HOST             SOURCE  EXPIRES                  ISSUER\nwww.example.com  user    2027-01-02 03:04:05 UTC  Test CA\n"
	if r := run(s, "certs", "web-app"); r.status != 0 || r.stdout != want {
		t.Errorf("certs: %+v, want\n%s", r, want)
	}
	if r := run(s, "certs:remove", "web-app", "www.example.com"); r.status != 0 || !strings.Contains(r.stdout, "Removed") {
		t.Errorf("certs:remove: %+v", r)
	}
	if rm := f.certState().removed; len(rm) != 1 || rm[0] != "web-app www.example.com" {
		t.Errorf("removed %q", rm)
	}
}

// TestCertsListing shows one row per host: issued certificates with their
// expiry, those to come with when, hosts nothing serves with a note, and
// unused user certificates.
func TestCertsListing(t *testing.T) {
	s, f := newTestServer(t)
	exp := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f.mu.Lock()
	f.certState().listed["web-app"] = []paas.Cert{
		{Hosts: []string{"web-app.localhost"}, Issuer: "paas local CA", NotAfter: exp, Source: "local"},
		{Hosts: []string{"*.web-app.localhost"}, Issuer: "paas local CA", Source: "local"},
		{Hosts: []string{"www.web.test"}, Issuer: "R11", NotAfter: exp, Source: "acme"},
		{Hosts: []string{"api.web.test"}, Source: "acme"},
		{Hosts: []string{"old.web.test", "*.old.web.test"}, Issuer: "Test CA", NotAfter: exp, Source: "unused"},
	}
	f.mu.Unlock()
	// 82 columns wide: the widest column, HOST, is cut to fit 80.
	want := `HOST                       SOURCE         EXPIRES                  ISSUER
web-app.localhost          local          2026-03-04 05:06:07 UTC  paas local CA
*.web-app.localhost        local          per name, on first use   paas local CA
www.web.test               acme           2026-03-04 05:06:07 UTC  R11
api.web.test               acme           issued on first request  -
old.web.test,*.old.web.t…  user (unused)  2026-03-04 05:06:07 UTC  Test CA
`
	if r := run(s, "certs", "web-app"); r.status != 0 || r.stdout != want {
		t.Errorf("certs: %+v, want\n%s", r, want)
	}

	f.mu.Lock()
	f.certState().listed["web-app"] = []paas.Cert{
		{Hosts: []string{"web-app.localhost"}, Issuer: "paas local CA", Source: "local"},
		{Hosts: []string{"www.web.test"}, Source: "none"},
	}
	f.mu.Unlock()
	want = `HOST               SOURCE  EXPIRES                  ISSUER
web-app.localhost  local   issued on first request  paas local CA
www.web.test       none    -                        -
Hosts with source none get no certificate automatically (ACME is off): bring one with certs:add.
`
	if r := run(s, "certs", "web-app"); r.status != 0 || r.stdout != want {
		t.Errorf("certs with ACME off: %+v, want\n%s", r, want)
	}
}

func TestCertsAddErrors(t *testing.T) {
	s, f := newTestServer(t)
	for _, tc := range []struct{ stdin, want string }{
		{"", "no certificate"},
		{testKeyPEM, "no certificate"},
		{testCertPEM, "no private key"},
		{testCertPEM + testKeyPEM + testKeyPEM, "more than one private key"},
		{testCertPEM + "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n" + testKeyPEM, "unexpected PEM block"},
		{strings.Repeat("x", maxCertInput+1), "larger than"},
	} {
		r := runIn(s, tc.stdin, "certs:add", "web-app")
		if r.status == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("stdin %.40q: %+v, want one line with %q", tc.stdin, r, tc.want)
		}
	}
	for _, args := range [][]string{{"certs:add", "web-app", "extra"}, {"certs", "web-app", "x"}, {"certs:remove", "web-app"}} {
		if r := runIn(s, testCertPEM+testKeyPEM, args...); r.status == 0 || !strings.Contains(r.stderr, "usage:") {
			t.Errorf("%q: %+v", args, r)
		}
	}
	if r := runIn(s, testCertPEM+testKeyPEM, "certs:add", "no-such-app"); r.status == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown app: %+v", r)
	}
	if r := run(s, "certs:remove", "web-app", "www.example.com"); r.status == 0 || !strings.Contains(r.stderr, "no certificate of its own") {
		t.Errorf("remove with none: %+v", r)
	}
	if n := len(f.certState().added["web-app"]); n != 0 {
		t.Errorf("%d certificates reached the platform", n)
	}
}

func FuzzSplitPEM(f *testing.F) {
	f.Add([]byte(testCertPEM + testKeyPEM))
	f.Add([]byte(testKeyPEM + "junk" + testCertPEM + testCAPEM))
	f.Add([]byte("-----BEGIN X-----\n-----END X-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, k, err := splitPEM(data)
		if err != nil {
			return
		}
		if len(c) == 0 || len(k) == 0 || !bytes.Contains(c, []byte("CERTIFICATE")) || !bytes.Contains(k, []byte("PRIVATE KEY")) {
			t.Fatalf("split %q into %q and %q", data, c, k)
		}
	})
}
