package certpair

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

func pair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// A matching pair parses; garbage, or a key of another certificate, does
// not.
func TestParse(t *testing.T) {
	cert, key := pair(t)
	_, otherKey := pair(t)
	if c, k, err := Parse(cert, key); err != nil || c == nil || k == nil {
		t.Fatalf("Parse of a pair: %v", err)
	}
	for name, in := range map[string][2][]byte{
		"not PEM":       {[]byte("garbage"), key},
		"garbled cert":  {[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), key},
		"another's key": {cert, otherKey},
	} {
		if _, _, err := Parse(in[0], in[1]); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
