package e2e

import (
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPSCertUnderWildcardDomain brings a certificate for a name an app
// serves through a wildcard domain: certs:add takes it, certs lists it as
// the user's, and HTTPS to that name is served with it. Exec runtime.
func TestHTTPSCertUnderWildcardDomain(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	dir := s.newRepoOf("wildecho", map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": echoApp})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	requireOK(t, "domains:add", s.paas(dir, "", "domains:add", "*.wildecho-shop.test"))

	certDir := t.TempDir()
	userCert := writeSelfSigned(t, certDir, "a.wildecho-shop.test")
	roots := x509.NewCertPool()
	roots.AddCert(userCert)
	requireOK(t, "certs:add", s.paas(dir, "", "certs:add", filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")))
	requireCertRow(t, s.paas(dir, "", "certs"), "a.wildecho-shop.test", "user", "e2e self-signed", userCert.NotAfter)
	_, body := httpsGet(t, s.httpsAddr(), "a.wildecho-shop.test", roots)
	if !strings.Contains(body, "proto=https host=a.wildecho-shop.test") {
		t.Errorf("body %q", body)
	}
}
