package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"paas/internal/certpair"
	"paas/store"
)

// Store keys of the local CA's root.
const (
	localRootCertKey = "local/root.crt"
	localRootKeyKey  = "local/root.key"
)

const (
	localRootName     = "paas local CA"
	localRootLifetime = 10 * 365 * 24 * time.Hour
	localLeafLifetime = 7 * 24 * time.Hour
	// A leaf with less than this left is replaced.
	localLeafRenewal = 2 * 24 * time.Hour
)

// isLocalHost reports whether host is served by the local CA: localhost
// and every name under it.
func isLocalHost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// localCA is paasd's own certificate authority for hosts under localhost:
// its root is made once and kept in the store; leaves are made on demand
// and kept in memory.
type localCA struct {
	root    *x509.Certificate
	rootDER []byte
	key     crypto.Signer
	now     func() time.Time

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// loadLocalCA reads the root from st, making and storing one the first
// time; when pemFile is set the root's PEM is written there. A root that
// is damaged in the store (it does not decode or parse) is replaced by a
// new one, and damaged says why: the local CA only serves hosts under
// localhost, and whoever trusted the old root must trust the new one.
func loadLocalCA(st *store.Store, pemFile string, now func() time.Time) (ca *localCA, damaged error, err error) {
	ca = &localCA{now: now, leaves: map[string]*tls.Certificate{}}
	certBlob, okCert, certErr := st.CertBlob(localRootCertKey)
	keyBlob, okKey, keyErr := st.CertBlob(localRootKeyKey)
	switch {
	case certErr != nil || keyErr != nil:
		damaged = errors.Join(certErr, keyErr)
	case okCert && okKey:
		damaged = ca.parse(certBlob.Data, keyBlob.Data)
	}
	if !(okCert && okKey) || damaged != nil {
		certPEM, keyPEM, err := ca.create()
		if err != nil {
			return nil, nil, fmt.Errorf("creating the local CA: %w", err)
		}
		if err := st.PutCertBlob(localRootKeyKey, keyPEM); err != nil {
			return nil, nil, err
		}
		if err := st.PutCertBlob(localRootCertKey, certPEM); err != nil {
			return nil, nil, err
		}
	}
	if pemFile != "" {
		if err := writeFileAtomic(pemFile, ca.rootPEM()); err != nil {
			return nil, nil, fmt.Errorf("writing the local CA's root: %w", err)
		}
	}
	return ca, damaged, nil
}

func (ca *localCA) create() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: localRootName, Organization: []string{"paas"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(localRootLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, ca.parse(certPEM, keyPEM)
}

func (ca *localCA) parse(certPEM, keyPEM []byte) error {
	root, signer, err := certpair.Parse(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	ca.root, ca.rootDER, ca.key = root, root.Raw, signer
	return nil
}

// rootPEM is the root certificate for clients to trust.
func (ca *localCA) rootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.rootDER})
}

// peek returns the leaf made for host earlier, nil when there is none
// or it has expired; it makes none.
func (ca *localCA) peek(host string) *x509.Certificate {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leaves[host]; c != nil && ca.now().Before(c.Leaf.NotAfter) {
		return c.Leaf
	}
	return nil
}

// leaf returns a certificate for host, made now or earlier.
func (ca *localCA) leaf(host string) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	now := ca.now()
	if c := ca.leaves[host]; c != nil && c.Leaf.NotAfter.Sub(now) > localLeafRenewal {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(localLeafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.root.NotAfter) {
		tmpl.NotAfter = ca.root.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("making a local certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	ca.leaves[host] = c
	return c, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

// writeFileAtomic replaces path with data (mode 0644: a root certificate
// is public).
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
