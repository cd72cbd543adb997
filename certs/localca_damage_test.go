package certs

import (
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
)

// A local CA root that is damaged in the store does not keep paasd from
// starting: a new root replaces it, is written to the CA file, signs the
// leaves, and the replacement is logged as an error saying what to do.
func TestDamagedLocalCAIsReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "paas.db")
	caFile := filepath.Join(dir, "local-ca.pem")
	st := openStore(t, path)
	m, err := New(Config{Store: st, LocalCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	old := string(m.LocalRootPEM())
	_, otherKey, err := (&localCA{now: time.Now}).create()
	if err != nil {
		t.Fatal(err)
	}
	for _, damage := range []struct{ key, data string }{
		{localRootCertKey, "-----BEGIN CERTIFICATE-----\ngarbled\n-----END CERTIFICATE-----\n"},
		{localRootKeyKey, "not a key at all"},
		{localRootKeyKey, string(otherKey)},
	} {
		if err := st.PutCertBlob(damage.key, []byte(damage.data)); err != nil {
			t.Fatal(err)
		}
		var logged syncbuf.Buffer
		m2, err := New(Config{Store: st, LocalCAFile: caFile, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
		if err != nil {
			t.Fatalf("%s damaged: New: %v", damage.key, err)
		}
		root := string(m2.LocalRootPEM())
		if root == "" || root == old {
			t.Fatalf("%s damaged: the root was not replaced", damage.key)
		}
		if file, _ := os.ReadFile(caFile); string(file) != root {
			t.Errorf("%s damaged: the CA file does not hold the new root", damage.key)
		}
		if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), "must trust the new one") {
			t.Errorf("%s damaged: the replacement is not logged as an error:\n%s", damage.key, logged.String())
		}
		leaf, err := m2.local.leaf("web.localhost")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool(t, m2.LocalRootPEM()), DNSName: "web.localhost"}); err != nil {
			t.Errorf("%s damaged: a leaf does not verify against the new root: %v", damage.key, err)
		}
		// The new root is kept from then on.
		m3, err := New(Config{Store: st, LocalCAFile: caFile})
		if err != nil || string(m3.LocalRootPEM()) != root {
			t.Fatalf("%s damaged: the new root is not kept: %v", damage.key, err)
		}
		old = root
	}
}
