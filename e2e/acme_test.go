package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"paas/internal/acmetest"
)

// TestACME obtains a certificate through the paasd binary from an ACME
// CA (Pebble, in the test's process, trusted through PAAS_ACME_CA_ROOT):
// the first HTTPS request for a custom domain makes paasd order one,
// answer the CA's challenge on its own listeners and serve the app with
// it; certs lists it. Exec runtime.
func TestACME(t *testing.T) {
	ca := acmetest.New(t)
	rootFile := filepath.Join(t.TempDir(), "acme-root.pem")
	if err := os.WriteFile(rootFile, ca.TLSRootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_ACME_EMAIL=ops@example.test",
		"PAAS_ACME_CA="+ca.DirURL, "PAAS_ACME_CA_ROOT="+rootFile)
	ca.Validate(portOf(t, s.httpAddr), portOf(t, s.httpsAddr()), 0)

	dir := s.newRepoOf("shop", map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": echoApp})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	requireOK(t, "domains:add", s.paas(dir, "", "domains:add", "www.shop-acme.test"))
	requireCertRow(t, s.paas(dir, "", "certs"), "www.shop-acme.test", "acme", "-", "issued on first request")
	if n := ca.Orders(); n != 0 {
		t.Fatalf("%d orders before any HTTPS request", n)
	}

	resp, body := httpsGet(t, s.httpsAddr(), "www.shop-acme.test", ca.Issuer)
	if !strings.Contains(body, "echo from web.1 proto=https host=www.shop-acme.test") {
		t.Errorf("body %q", body)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname("www.shop-acme.test"); err != nil {
		t.Error(err)
	}
	if n := ca.Orders(); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
	requireCertRow(t, s.paas(dir, "", "certs"), "www.shop-acme.test", "acme", leaf.Issuer.CommonName, leaf.NotAfter.UTC().Truncate(time.Second))
	// The certificate is kept: a second request orders nothing.
	httpsGet(t, s.httpsAddr(), "www.shop-acme.test", ca.Issuer)
	if n := ca.Orders(); n != 1 {
		t.Errorf("%d orders after a second request, want 1", n)
	}
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
