package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"

	"paas"
)

// Certificate sources, as paas.Cert.Source.
const (
	SourceACME  = "acme"
	SourceLocal = "local"
	SourceUser  = "user"
)

// maxPEM bounds a certificate chain and key a user brings.
const maxPEM = 64 << 10

// List describes the certificates serving app's hosts: the user's, local
// CA leaves for hosts under localhost and the ACME certificates obtained
// so far. A host with no certificate yet is left out.
func (m *Manager) List(ctx context.Context, app string) ([]paas.Cert, error) {
	var out []paas.Cert
	covered := map[string]bool{}
	for _, c := range m.users.of(app) {
		out = append(out, describe(c.cert.Leaf, c.names, SourceUser))
		for _, n := range c.names {
			covered[n] = true
		}
	}
	for _, host := range m.cfg.HostsOf(app) {
		if uc := m.users.find(host); covered[host] || (uc != nil && uc.app == app) {
			continue
		}
		switch {
		case isLocalHost(host):
			if strings.HasPrefix(host, "*.") {
				continue
			}
			leaf, err := m.local.leaf(host)
			if err != nil {
				return nil, err
			}
			out = append(out, describe(leaf.Leaf, []string{host}, SourceLocal))
		case m.magic != nil:
			leaf, err := m.acmeLeaf(ctx, host)
			if err != nil {
				return nil, err
			}
			if leaf != nil {
				out = append(out, describe(leaf, []string{host}, SourceACME))
			}
		}
	}
	return out, nil
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

// Add stores a certificate the user brings for app: certPEM is the chain
// (leaf first), keyPEM its private key. Every name of the leaf must be one
// of the app's hosts (a wildcard name covers the app's hosts one label
// below it). It replaces the app's older certificate for those names.
func (m *Manager) Add(ctx context.Context, app string, certPEM, keyPEM []byte) (paas.Cert, error) {
	if len(certPEM) > maxPEM || len(keyPEM) > maxPEM {
		return paas.Cert{}, paas.Errorf("the certificate or key is larger than %d KiB", maxPEM>>10)
	}
	c, err := parseUserCert(certPEM, keyPEM)
	if err != nil {
		return paas.Cert{}, &paas.Error{Msg: "cannot use this certificate: " + userReason(err), Err: err}
	}
	leaf := c.Leaf
	now := time.Now()
	if now.After(leaf.NotAfter) {
		return paas.Cert{}, paas.Errorf("the certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(leaf.NotBefore) {
		return paas.Cert{}, paas.Errorf("the certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.DateTime))
	}
	names := certNames(c)
	if len(names) == 0 {
		return paas.Cert{}, paas.Errorf("the certificate names no DNS host (subject alternative names)")
	}
	hosts := m.cfg.HostsOf(app)
	for _, n := range names {
		if !slices.ContainsFunc(hosts, func(h string) bool { return covers(n, h) }) {
			return paas.Cert{}, paas.Errorf("the certificate names %s, which is not a host of %s; add it with domains:add first", n, app)
		}
	}
	if err := m.users.add(app, certPEM, keyPEM, c); err != nil {
		return paas.Cert{}, fmt.Errorf("storing the certificate of %s: %w", app, err)
	}
	m.log.Info("user certificate added", "app", app, "hosts", names, "not_after", leaf.NotAfter)
	return describe(leaf, names, SourceUser), nil
}

// covers reports whether a certificate name covers host: the same name,
// or a wildcard matching host (or the same wildcard).
func covers(name, host string) bool {
	if name == host {
		return true
	}
	rest, ok := strings.CutPrefix(name, "*.")
	if !ok {
		return false
	}
	_, hostRest, ok := strings.Cut(host, ".")
	return ok && hostRest == rest && !strings.HasPrefix(host, "*.")
}

// userReason turns a parse failure into a short line for the user.
func userReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "private key does not match"):
		return "the private key does not match the certificate"
	case strings.Contains(msg, "failed to find any PEM data in certificate"):
		return "no PEM certificate found"
	case strings.Contains(msg, "failed to find any PEM data in key"), strings.Contains(msg, "failed to find PEM block with type ending in \"PRIVATE KEY\""):
		return "no PEM private key found"
	}
	return strings.TrimPrefix(msg, "tls: ")
}

// Remove deletes app's own certificate serving host.
func (m *Manager) Remove(ctx context.Context, app, host string) error {
	name := normalizeName(host)
	c := m.users.find(name)
	if c == nil || c.app != app {
		for _, uc := range m.users.of(app) {
			if slices.Contains(uc.names, name) {
				c = uc
			}
		}
	}
	if c == nil || c.app != app {
		return paas.Errorf("%s has no certificate of its own for %s", app, host)
	}
	if err := m.users.remove(c); err != nil {
		return fmt.Errorf("removing the certificate of %s: %w", app, err)
	}
	m.log.Info("user certificate removed", "app", app, "hosts", c.names)
	return nil
}
