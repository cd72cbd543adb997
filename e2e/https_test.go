package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"paas/internal/tlstest"
)

// echoApp answers with the forwarding headers it was given.
const echoApp = `import http.server, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("echo from %s proto=%s host=%s\n" % (
            os.environ.get("DYNO", "?"),
            self.headers.get("X-Forwarded-Proto"),
            self.headers.get("Host"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
`

// TestHTTPS serves apps over TLS: a local CA certificate for APP.localhost
// over HTTP/2, a certificate the user brings for a custom domain, no
// certificate for a name nobody routes, and the same certificates after
// a handover and after a restart. Exec runtime.
func TestHTTPS(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	dir := s.newRepoOf("echo", map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": echoApp})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	addr := s.httpsAddr()
	rootPEM, err := os.ReadFile(filepath.Join(s.dataDir, "local-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	localRoots := x509.NewCertPool()
	if !localRoots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("local-ca.pem holds no certificate")
	}

	t.Run("local CA", func(t *testing.T) {
		requireCertRow(t, s.paas(dir, "", "certs"), "echo.localhost", "local", "paas local CA", "issued on first request")
		resp, body := httpsGet(t, addr, "echo.localhost", localRoots)
		if resp.ProtoMajor != 2 {
			t.Errorf("served over %s, want HTTP/2", resp.Proto)
		}
		if !strings.Contains(body, "echo from web.1 proto=https host=echo.localhost") {
			t.Errorf("body %q", body)
		}
		requireCertRow(t, s.paas(dir, "", "certs"), "echo.localhost", "local", "paas local CA", time.Now().Add(7*24*time.Hour))
	})

	certDir := t.TempDir()
	userCert := writeSelfSigned(t, certDir, "www.echo-shop.test")
	userRoots := x509.NewCertPool()
	userRoots.AddCert(userCert)
	t.Run("user certificate", func(t *testing.T) {
		requireFail(t, "certs:add before the domain is added",
			s.paas(dir, "", "certs:add", filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")), "not a host of echo")
		requireOK(t, "domains:add", s.paas(dir, "", "domains:add", "www.echo-shop.test"))
		// ACME is off: nothing serves the new domain until certs:add.
		requireCertRow(t, s.paas(dir, "", "certs"), "www.echo-shop.test", "none", "-", "-")
		r := s.paas(dir, "", "certs:add", filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem"))
		requireOK(t, "certs:add", r)
		if !strings.Contains(r.stdout, "www.echo-shop.test") {
			t.Errorf("certs:add said %q", r.stdout)
		}
		_, body := httpsGet(t, addr, "www.echo-shop.test", userRoots)
		if !strings.Contains(body, "proto=https host=www.echo-shop.test") {
			t.Errorf("body %q", body)
		}
		requireCertRow(t, s.paas(dir, "", "certs"), "www.echo-shop.test", "user", "e2e self-signed", userCert.NotAfter)
	})

	t.Run("unknown server name", func(t *testing.T) {
		for _, name := range []string{"unknown.example.com", "nosuch.localhost", ""} {
			conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
			if err == nil {
				conn.Close()
				t.Errorf("handshake for %q succeeded", name)
			}
		}
	})

	// A successor takes over the HTTPS listener itself.
	s2 := s.successor("PAAS_RUNTIME=exec")
	if got := s2.httpsAddr(); got != addr {
		t.Fatalf("successor serves HTTPS on %s, want the handed-over %s", got, addr)
	}
	requireLocalAndUser(t, s2.httpsAddr(), localRoots, userRoots)

	// A restart on the same data dir keeps the local CA's root and the
	// user's certificate. (The first paasd lets go of the listeners when
	// it exits.)
	s.stop()
	s2.stop()
	s3 := s2.successor("PAAS_RUNTIME=exec", "PAAS_HTTPS_ADDR=127.0.0.1:0")
	again, err := os.ReadFile(filepath.Join(s3.dataDir, "local-ca.pem"))
	if err != nil || string(again) != string(rootPEM) {
		t.Fatalf("local-ca.pem changed across a restart (%v)", err)
	}
	requireLocalAndUser(t, s3.httpsAddr(), localRoots, userRoots)

	// The user's certificate goes with its app: an app made again under
	// the same name, with the same domain, does not get it back.
	requireOK(t, "apps:destroy", s3.ssh("apps:destroy echo --confirm echo"))
	requireOK(t, "apps:create", s3.ssh("apps:create echo"))
	requireOK(t, "domains:add", s3.ssh("domains:add echo www.echo-shop.test"))
	requireCertRow(t, s3.ssh("certs echo"), "www.echo-shop.test", "none", "-", "-")
	if conn, err := tls.Dial("tcp", s3.httpsAddr(), &tls.Config{ServerName: "www.echo-shop.test", RootCAs: userRoots}); err == nil {
		conn.Close()
		t.Error("the destroyed app's certificate still serves www.echo-shop.test")
	}
}

// columnGap separates the columns of a paas listing.
var columnGap = regexp.MustCompile(`\s{2,}`)

// requireCertRow checks that a certs listing has host's row with the
// source, issuer and expiry (or note) given; an expiry given as a time is
// checked to within a minute.
func requireCertRow(t *testing.T, r result, host, source, issuer string, expires any) {
	t.Helper()
	requireOK(t, "certs", r)
	for _, line := range strings.Split(r.stdout, "\n") {
		f := columnGap.Split(strings.TrimSpace(line), -1)
		if f[0] != host {
			continue
		}
		// A long issuer is cut to fit 80 columns, ending in "…".
		cut, isCut := strings.CutSuffix(f[len(f)-1], "…")
		ok := len(f) == 4 && f[1] == source && (f[3] == issuer || isCut && strings.HasPrefix(issuer, cut)) && len([]rune(line)) <= 80
		switch want := expires.(type) {
		case string:
			ok = ok && f[2] == want
		case time.Time:
			got, err := time.Parse("2006-01-02 15:04:05 UTC", f[2])
			ok = ok && err == nil && got.Sub(want).Abs() < time.Minute
		}
		if !ok {
			t.Errorf("certs row %q, want %s %s %s %v", f, host, source, issuer, expires)
		}
		return
	}
	t.Errorf("certs lists no %s:\n%s", host, r.stdout)
}

func requireLocalAndUser(t *testing.T, addr string, localRoots, userRoots *x509.CertPool) {
	t.Helper()
	if _, body := httpsGet(t, addr, "echo.localhost", localRoots); !strings.Contains(body, "proto=https") {
		t.Errorf("echo.localhost: body %q", body)
	}
	if _, body := httpsGet(t, addr, "www.echo-shop.test", userRoots); !strings.Contains(body, "proto=https") {
		t.Errorf("www.echo-shop.test: body %q", body)
	}
}

// httpsAddr is the HTTPS address from paasd's "listening" line.
func (s *server) httpsAddr() string {
	s.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" {
			if a, ok := rec["https"].(string); ok {
				return a
			}
		}
	}
	s.t.Fatalf("paasd's listening line has no https address:\n%s", s.out.String())
	return ""
}

// httpsGet fetches https://name/ from addr, trusting roots, retrying
// while the app is still starting (502/503).
func httpsGet(t *testing.T, addr, name string, roots *x509.CertPool) (*http.Response, string) {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	url := "https://" + name + ":" + port + "/"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body, err := tlstest.Get(addr, url, roots, 10*time.Second)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		if resp.StatusCode == 200 {
			return resp, body
		}
		if (resp.StatusCode != 502 && resp.StatusCode != 503) || time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %q", url, resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeSelfSigned writes cert.pem and key.pem for host into dir.
func writeSelfSigned(t *testing.T, dir, host string) *x509.Certificate {
	t.Helper()
	certPEM, keyPEM, c := tlstest.SelfSigned(t, "e2e self-signed", []string{host}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	for name, data := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}
