// Package acmetest runs Pebble, the ACME test server, in the test's
// process on loopback, with a DNS server that resolves every name to
// 127.0.0.1: tests obtain real certificates over the real ACME protocol
// with no network beyond the machine. It is for tests only.
package acmetest

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// Server is a running Pebble.
type Server struct {
	// DirURL is the ACME directory.
	DirURL string
	// TLSRoots trusts Pebble's own HTTPS; TLSRootPEM is the same root as
	// PEM, for a client configured with a file.
	TLSRoots   *x509.CertPool
	TLSRootPEM []byte
	// Issuer is the root Pebble's certificates chain to; set by Validate.
	Issuer *x509.CertPool

	t       testing.TB
	handler atomic.Pointer[http.Handler]
	orders  atomic.Int64
}

// Orders returns how many new-order requests Pebble has seen.
func (s *Server) Orders() int64 { return s.orders.Load() }

// Start runs Pebble until the test ends, as New then Validate.
func Start(t testing.TB, httpPort, tlsPort int, validity uint64) *Server {
	t.Helper()
	s := New(t)
	s.Validate(httpPort, tlsPort, validity)
	return s
}

// New opens Pebble's directory, for a client that must be told its URL
// and root before the ports it will answer challenges on are known; it
// answers 503 until Validate.
func New(t testing.TB) *Server {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	s := &Server{t: t}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := s.handler.Load()
		if h == nil {
			http.Error(w, "not validating yet", http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			s.orders.Add(1)
		}
		(*h).ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.DirURL = srv.URL + wfe.DirectoryPath
	s.TLSRoots = x509.NewCertPool()
	s.TLSRoots.AddCert(srv.Certificate())
	s.TLSRootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return s
}

// Validate starts Pebble's CA and validation authority, which checks
// HTTP-01 on httpPort and TLS-ALPN-01 on tlsPort of 127.0.0.1, whatever
// the name. validity (seconds) is the certificates' lifetime; 0 is
// Pebble's default.
func (s *Server) Validate(httpPort, tlsPort int, validity uint64) {
	s.t.Helper()
	logger := log.New(io.Discard, "", 0)
	if testing.Verbose() {
		logger = log.New(os.Stderr, "pebble ", log.Lmicroseconds)
	}
	dnsAddr := startDNS(s.t)
	mem := db.NewMemoryStore()
	authority := ca.New(logger, mem, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "test", ValidityPeriod: validity},
	})
	validator := va.New(logger, httpPort, tlsPort, false, dnsAddr, mem)
	front := wfe.New(logger, mem, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	s.Issuer = x509.NewCertPool()
	s.Issuer.AddCert(authority.GetRootCert(0).Cert)
	h := front.Handler()
	s.handler.Store(&h)
}

// startDNS answers every A query with 127.0.0.1 (and AAAA with nothing),
// over TCP as Pebble asks.
func startDNS(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}
