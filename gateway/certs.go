package gateway

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"strings"

	"paas"
)

// maxCertInput bounds what certs:add reads from stdin: a chain and a key.
const maxCertInput = 256 << 10

// cmdCerts lists the app's hosts and how each is served over HTTPS: the
// certificate's source, issuer and expiry, or when one will be issued.
func cmdCerts(s *Server, r *request, app string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("certs"))
	}
	certs, err := s.cfg.Platform.Certs(r.ctx, app)
	if err != nil {
		return err
	}
	if len(certs) == 0 {
		return emptyListing(r, asJSON, app+" has no hosts to serve over HTTPS: add one with domains:add")
	}
	if asJSON {
		list := make([]certJSON, 0, len(certs))
		for _, c := range certs {
			list = append(list, toCertJSON(c))
		}
		return writeJSON(r, list)
	}
	// The issuer, free text, is last: the column that narrows first.
	t := newTable("HOST", "SOURCE", "EXPIRES", "ISSUER")
	unserved, damaged := false, false
	for _, c := range certs {
		source, expires := certSource(c)
		unserved = unserved || c.Source == "none"
		damaged = damaged || c.Source == "damaged"
		t.row(strings.Join(c.Hosts, ","), source, expires, orDash(printable(c.Issuer)))
	}
	if err := t.write(r.stdout); err != nil {
		return err
	}
	if unserved {
		fmt.Fprintln(r.stdout, "Hosts with source none get no certificate automatically (ACME is off): bring one with certs:add.")
	}
	if damaged {
		fmt.Fprintf(r.stdout, "A damaged certificate cannot be read from paasd's store and serves nothing: remove it with certs:remove %s ID and add it again with certs:add.\n", app)
	}
	return nil
}

// certSource renders how a listed certificate is served: its source as
// shown, and its expiry or when it will be issued. A Cert with a zero
// NotAfter has not been issued yet; "none" is a host nothing serves, and
// "unused" a certificate of the user's that serves none of the app's
// hosts.
func certSource(c paas.Cert) (source, expires string) {
	switch {
	case c.Source == "none" || c.Source == "damaged":
		return c.Source, "-"
	case c.Source == "unused":
		return "user (unused)", formatTime(c.NotAfter)
	case !c.NotAfter.IsZero():
		return c.Source, formatTime(c.NotAfter)
	case len(c.Hosts) == 1 && strings.HasPrefix(c.Hosts[0], "*."):
		return c.Source, "per name, on first use"
	}
	return c.Source, "issued on first request"
}

func cmdCertsAdd(s *Server, r *request, app string, args []string) error {
	if len(args) != 0 {
		return usageError(lookupCommand("certs:add"))
	}
	data, err := io.ReadAll(io.LimitReader(r.stdin, maxCertInput+1))
	if err != nil {
		return fmt.Errorf("reading the certificate: %w", err)
	}
	if len(data) > maxCertInput {
		return paas.Errorf("the input is larger than %d KiB; send the certificate chain and its key only", maxCertInput>>10)
	}
	certPEM, keyPEM, err := splitPEM(data)
	if err != nil {
		return err
	}
	c, err := s.cfg.Platform.AddCert(r.ctx, app, certPEM, keyPEM)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Added a certificate for %s on %s (issuer %s, expires %s)\n", strings.Join(c.Hosts, ", "), app, orDash(c.Issuer), formatTime(c.NotAfter))
	return nil
}

func cmdCertsRemove(s *Server, r *request, app string, args []string) error {
	if len(args) != 1 {
		return usageError(lookupCommand("certs:remove"))
	}
	if err := s.cfg.Platform.RemoveCert(r.ctx, app, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Removed the certificate for %s from %s\n", args[0], app)
	return nil
}

// splitPEM separates PEM input into the certificates (in their order)
// and the one private key; anything between the blocks is ignored.
func splitPEM(data []byte) (certPEM, keyPEM []byte, err error) {
	var certs, keys bytes.Buffer
	nkeys := 0
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			pem.Encode(&certs, b)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			nkeys++
			pem.Encode(&keys, b)
		default:
			return nil, nil, paas.Errorf("unexpected PEM block %q: send the certificate chain and its private key", b.Type)
		}
	}
	switch {
	case certs.Len() == 0:
		return nil, nil, paas.Errorf("no certificate on stdin: send the PEM chain (leaf first) and its private key")
	case nkeys == 0:
		return nil, nil, paas.Errorf("no private key on stdin: send it after the certificate chain")
	case nkeys > 1:
		return nil, nil, paas.Errorf("more than one private key on stdin")
	}
	return certs.Bytes(), keys.Bytes(), nil
}
