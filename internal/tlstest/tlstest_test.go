package tlstest

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestGetReachesAddrUnderAnyName(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host+" "+r.TLS.ServerName+" "+r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()

	// The test server's certificate names example.com, not its address.
	resp, body, err := Get(addr, "https://example.com/", roots, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body != "example.com example.com HTTP/2.0" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
	if _, _, err := Get(addr, "https://other.test/", roots, 5*time.Second); err == nil {
		t.Error("a name the certificate does not cover was accepted")
	}
	if _, _, err := Get(addr, "https://example.com/", x509.NewCertPool(), 5*time.Second); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
}
