package registry

import (
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
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"paas/internal/certpair"
)

const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 30 * 24 * time.Hour
	// A leaf with less than this left is replaced at the next handshake.
	leafRenewal = 10 * 24 * time.Hour
)

// ca is the registry's own certificate authority: a root made once and
// kept under the registry's directory (ca.crt, ca.key), which every node
// trusts for the registry's address alone (certs.d/HOST:PORT/ca.crt),
// and a leaf for the registry's hosts, made at start and renewed before
// it expires.
type ca struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	hosts   []string
	now     func() time.Time

	mu   sync.Mutex
	leaf *tls.Certificate
}

// loadCA reads the root from dir, making it the first time.
func loadCA(dir string, hosts []string, now func() time.Time) (*ca, error) {
	c := &ca{hosts: hosts, now: now}
	certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	certPEM, certErr := os.ReadFile(certFile)
	keyPEM, keyErr := os.ReadFile(keyFile)
	switch {
	case certErr == nil && keyErr == nil:
		if err := c.parse(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("reading the registry's CA in %s: %w", dir, err)
		}
		return c, nil
	case !errors.Is(certErr, os.ErrNotExist) || !errors.Is(keyErr, os.ErrNotExist):
		// One without the other: nodes trust the certificate, so it
		// is not silently replaced.
		return nil, fmt.Errorf("reading the registry's CA in %s: %w", dir, errors.Join(certErr, keyErr))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "paas registry CA", Organization: []string{"paas"}},
		NotBefore:             t.Add(-time.Hour),
		NotAfter:              t.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	// The key first: a certificate without its key is refused above.
	if err := writeNew(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(certFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	return c, c.parse(certPEM, keyPEM)
}

// writeNew writes a file that must not exist yet, synced.
func writeNew(name string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *ca) parse(certPEM, keyPEM []byte) error {
	cert, signer, err := certpair.Parse(certPEM, keyPEM)
	if err != nil {
		return err
	}
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("the key is not ECDSA")
	}
	c.cert, c.certPEM, c.key = cert, certPEM, key
	return nil
}

// certificate is the leaf to serve, made (again) when there is none or
// it is near its end.
func (c *ca) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now()
	if c.leaf != nil && c.leaf.Leaf.NotAfter.Sub(t) > leafRenewal {
		return c.leaf, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "paas registry"},
		NotBefore:    t.Add(-time.Hour),
		NotAfter:     t.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range c.hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("signing the registry's certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c.leaf = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return c.leaf, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
