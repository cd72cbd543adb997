package router

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"paas/internal/tlstest"
)

// accessLogs collects access log lines.
type accessLogs struct {
	mu    sync.Mutex
	lines []string
	apps  []string
}

func (a *accessLogs) add(app, line string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps = append(a.apps, app)
	a.lines = append(a.lines, line)
}

// snapshot returns the lines so far and their apps.
func (a *accessLogs) snapshot() ([]string, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.lines...), append([]string(nil), a.apps...)
}

// wait returns the first n lines, polling until a deadline.
func (a *accessLogs) wait(t *testing.T, n int) ([]string, []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		if len(a.lines) >= n {
			l, p := append([]string(nil), a.lines...), append([]string(nil), a.apps...)
			a.mu.Unlock()
			return l, p
		}
		a.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("want %d access log lines, have fewer", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setup starts a router on a real listener, served as paasd serves its
// HTTP listener: the fast path, handing anything else to the general one.
func setup(t *testing.T, cfg Config) (*Router, *frontServer, *accessLogs) {
	t.Helper()
	logs := &accessLogs{}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	cfg.AccessLog = logs.add
	r := New(cfg)
	srv := startFront(t, r, ServerLimits{})
	t.Cleanup(r.Close)
	return r, srv, logs
}

// frontServer is a Front serving on a loopback listener.
type frontServer struct {
	URL      string
	Listener net.Listener
	front    *Front
}

func startFront(t *testing.T, r *Router, limits ServerLimits) *frontServer {
	t.Helper()
	return startFrontOn(t, r, limits, func(ln net.Listener) net.Listener { return ln })
}

// startFrontOn is startFront with the listener wrapped, as paasd wraps
// its own.
func startFrontOn(t *testing.T, r *Router, limits ServerLimits, wrap func(net.Listener) net.Listener) *frontServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := NewFront(r, limits, r)
	done := make(chan error, 1)
	go func() { done <- f.Serve(wrap(ln)) }()
	t.Cleanup(func() {
		f.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	})
	return &frontServer{URL: "http://" + ln.Addr().String(), Listener: ln, front: f}
}

// backend starts an instance that answers with its name and what it saw.
func backend(t *testing.T, name string) (Backend, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "from-backend")
		json.NewEncoder(w).Encode(seen{
			Name:   name,
			Host:   req.Host,
			Path:   req.URL.RequestURI(),
			Header: req.Header,
			Remote: req.RemoteAddr,
		})
	}))
	t.Cleanup(srv.Close)
	return Backend{Name: name, Addr: srv.Listener.Addr().String()}, srv
}

type seen struct {
	Name   string
	Host   string
	Path   string
	Header http.Header
	Remote string
}

// client never uses an environment proxy.
var client = &http.Client{Transport: &http.Transport{Proxy: nil}}

// get sends a request to the router with the given Host header.
func get(t *testing.T, srv *frontServer, host, path string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func decode(t *testing.T, body []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return s
}

// deadAddr returns an address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startTLS serves r over TLS on a loopback listener as paasd serves its
// HTTPS listener (ServeTLS, the default limits), with a self-signed
// certificate, and returns the address.
func startTLS(t *testing.T, r *Router) string {
	t.Helper()
	certPEM, keyPEM, _ := tlstest.SelfSigned(t, "localhost", []string{"localhost", "*.localhost"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ServerLimits{}.Server("", r)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	done := make(chan error, 1)
	go func() { done <- ServeTLS(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	return ln.Addr().String()
}

// dialTLS opens an HTTP/1.1 TLS connection to addr without a server name.
// The certificate is not checked: these tests are about what is sent
// over the connection.
func dialTLS(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
