package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"paas/internal/tlstest"
	"paas/store"
)

// frontDoor is a Manager behind real HTTP and HTTPS listeners, as paasd
// runs it.
type frontDoor struct {
	m         *Manager
	httpAddr  string
	httpsAddr string
	st        *store.Store
	stop      func() // closes the servers, their listeners and the Manager
}

// listeners opens the HTTP and HTTPS listeners first: Pebble must know
// their ports.
func listeners(t *testing.T) (httpLn, httpsLn net.Listener) {
	t.Helper()
	var err error
	if httpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if httpsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { httpLn.Close(); httpsLn.Close() })
	return httpLn, httpsLn
}

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// openStore opens (or reopens) the store file at path.
func openStore(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// routes is a host table for tests: host -> app.
type routes map[string]string

func (r routes) appFor(host string) (string, bool) {
	a, ok := r[normalizeName(host)]
	return a, ok
}

func (r routes) allowed(host string) bool { _, ok := r.appFor(host); return ok }

func (r routes) hostsOf(app string) []string {
	var out []string
	for h, a := range r {
		if a == app {
			out = append(out, h)
		}
	}
	return out
}

// serve starts a Manager with cfg on the listeners: the HTTP one answers
// challenges (else 404), the HTTPS one says "hello NAME".
func serve(t *testing.T, cfg Config, httpLn, httpsLn net.Listener) *frontDoor {
	t.Helper()
	cfg.HTTPAddr, cfg.HTTPSAddr = httpLn.Addr().String(), httpsLn.Addr().String()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	hs := &http.Server{Handler: m.HTTPHandler(http.NotFoundHandler()), ErrorLog: log.New(io.Discard, "", 0)}
	tlsSrv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello "+r.TLS.ServerName+" "+r.Proto)
		}),
		TLSConfig: m.TLSConfig(),
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	go hs.Serve(httpLn)
	go tlsSrv.ServeTLS(httpsLn, "", "")
	fd := &frontDoor{m: m, httpAddr: httpLn.Addr().String(), httpsAddr: httpsLn.Addr().String(), st: cfg.Store}
	fd.stop = func() { hs.Close(); tlsSrv.Close(); m.Close() }
	t.Cleanup(fd.stop)
	return fd
}

// relisten opens listeners on the addresses a stopped frontDoor had.
func (fd *frontDoor) relisten(t *testing.T) (httpLn, httpsLn net.Listener) {
	t.Helper()
	var err error
	if httpLn, err = net.Listen("tcp", fd.httpAddr); err != nil {
		t.Fatal(err)
	}
	if httpsLn, err = net.Listen("tcp", fd.httpsAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { httpLn.Close(); httpsLn.Close() })
	return httpLn, httpsLn
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// handshake connects to addr with SNI name, trusting roots, and returns
// the server's leaf.
func handshake(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// get fetches https://name/ through addr over HTTP/2.
func get(t *testing.T, addr, name string, roots *x509.CertPool) string {
	t.Helper()
	_, body, err := tlstest.Get(addr, "https://"+name+"/", roots, 60*time.Second)
	if err != nil {
		t.Fatalf("GET https://%s/: %v", name, err)
	}
	return body
}

func dbPath(t *testing.T) string { return filepath.Join(t.TempDir(), "paas.db") }

// helloFor is a ClientHello for name as a browser sends it.
func helloFor(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{ServerName: name, SupportedProtos: []string{"h2", "http/1.1"}, Conn: fakeConn{}}
}

// fakeConn is the connection of a ClientHello built by a test.
type fakeConn struct{ net.Conn }

func (fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (fakeConn) LocalAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
