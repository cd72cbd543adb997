// Package certpair reads a PEM certificate and its PKCS #8 private key,
// as paas keeps its own certificate authorities (the local CA for hosts
// under localhost, the image registry's CA).
package certpair

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// Parse decodes certPEM and keyPEM and checks that the key is the
// certificate's and can sign.
func Parse(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("the key cannot sign")
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, errors.New("the key is not the certificate's")
	}
	return cert, signer, nil
}
