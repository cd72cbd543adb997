package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/certmagic"

	"paas"
)

// Sources, as paas.Cert.Source: where the certificate of a host comes
// from. A host whose Cert has a zero NotAfter has no certificate yet; its
// source issues one on the first HTTPS request (for a wildcard host, one
// per name).
const (
	// SourceACME is a certificate obtained from the ACME CA.
	SourceACME = "acme"
	// SourceLocal is a leaf of paasd's local CA, for hosts under localhost.
	SourceLocal = "local"
	// SourceUser is a certificate the user brought (certs:add).
	SourceUser = "user"
	// SourceNone is a host nothing can serve: ACME is off and the user
	// brought no certificate for it.
	SourceNone = "none"
	// SourceUnused is a certificate the user brought that serves none of
	// the app's hosts now (its domain was removed, or moved to another
	// app); its Hosts are the names it covers.
	SourceUnused = "unused"
	// SourceDamaged is a certificate the user brought that cannot be
	// read from the store: it serves nothing; its Hosts is its id, which
	// certs:remove takes.
	SourceDamaged = "damaged"
)

// List describes how each host routed to app is served, in the order of
// Config.HostsOf: one Cert per host, whose Hosts is that host alone, as a
// handshake would pick it (the app's own user certificate, else a local
// CA leaf under localhost, else ACME). The app's user certificates for
// names it is served at through a wildcard domain follow, as SourceUser. A certificate not issued yet is
// reported with a zero NotAfter: List reads what exists and issues
// nothing. The app's user certificates that serve none of its hosts
// follow, as SourceUnused.
func (m *Manager) List(ctx context.Context, app string) ([]paas.Cert, error) {
	var out []paas.Cert
	used := map[*userCert]bool{}
	for _, host := range m.cfg.HostsOf(app) {
		host = normalizeName(host)
		if uc := m.users.find(host); uc != nil && uc.app == app {
			used[uc] = true
			out = append(out, describe(uc.cert.Leaf, []string{host}, SourceUser))
			continue
		}
		c, err := m.automatic(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("reading the certificate of %s: %w", host, err)
		}
		out = append(out, c)
	}
	for _, uc := range m.users.of(app) {
		if used[uc] {
			continue
		}
		// A certificate for names under a wildcard domain serves them.
		var served []string
		for _, n := range uc.names {
			if !strings.HasPrefix(n, "*.") && m.serves(app, n) {
				served = append(served, n)
			}
		}
		if len(served) > 0 {
			out = append(out, describe(uc.cert.Leaf, served, SourceUser))
			continue
		}
		out = append(out, describe(uc.cert.Leaf, uc.names, SourceUnused))
	}
	for _, d := range m.users.damagedOf(app) {
		out = append(out, paas.Cert{Hosts: []string{d.id}, Source: SourceDamaged})
	}
	return out, nil
}

// automatic describes host's certificate from the local CA or ACME: the
// one made or stored so far, else one with a zero NotAfter.
func (m *Manager) automatic(ctx context.Context, host string) (paas.Cert, error) {
	hosts := []string{host}
	switch {
	case isLocalHost(host):
		if leaf := m.local.peek(host); leaf != nil {
			return describe(leaf, hosts, SourceLocal), nil
		}
		return paas.Cert{Hosts: hosts, Issuer: m.local.root.Subject.CommonName, Source: SourceLocal}, nil
	case m.magic == nil:
		return paas.Cert{Hosts: hosts, Source: SourceNone}, nil
	case strings.HasPrefix(host, "*."):
		// Obtained on demand name by name, never for the wildcard.
		return paas.Cert{Hosts: hosts, Source: SourceACME}, nil
	}
	leaf, err := m.acmeLeaf(ctx, host)
	if err != nil || leaf == nil {
		return paas.Cert{Hosts: hosts, Source: SourceACME}, err
	}
	return describe(leaf, hosts, SourceACME), nil
}

// acmeLeaf returns the stored ACME certificate for host, nil when none
// has been obtained.
func (m *Manager) acmeLeaf(ctx context.Context, host string) (*x509.Certificate, error) {
	key := certmagic.StorageKeys.SiteCert(m.issuer.IssuerKey(), host)
	data, err := m.magic.Storage.Load(ctx, key)
	if err != nil {
		if m.magic.Storage.Exists(ctx, key) {
			return nil, err
		}
		return nil, nil
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("stored certificate for %s is not PEM", host)
	}
	return x509.ParseCertificate(b.Bytes)
}

func describe(leaf *x509.Certificate, hosts []string, source string) paas.Cert {
	issuer := leaf.Issuer.CommonName
	if issuer == "" && len(leaf.Issuer.Organization) > 0 {
		issuer = leaf.Issuer.Organization[0]
	}
	return paas.Cert{Hosts: slices.Clone(hosts), Issuer: issuer, NotAfter: leaf.NotAfter.UTC(), Source: source}
}
