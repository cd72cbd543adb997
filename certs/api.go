package certs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"paas"
)

// maxPEM bounds a certificate chain and key a user brings.
const maxPEM = 64 << 10

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
	for _, n := range names {
		if !m.serves(app, n) {
			return paas.Cert{}, paas.Errorf("the certificate names %s, which is not a host of %s; add it with domains:add first", n, app)
		}
	}
	if err := m.users.add(app, certPEM, keyPEM, c); err != nil {
		return paas.Cert{}, fmt.Errorf("storing the certificate of %s: %w", app, err)
	}
	m.log.Info("user certificate added", "app", app, "hosts", names, "not_after", leaf.NotAfter)
	return describe(leaf, names, SourceUser), nil
}

// serves reports whether the certificate name n is one of app's: it
// covers one of the app's hosts, or it is a name the app is served at
// through a wildcard domain (and no other app through a host of its own).
func (m *Manager) serves(app, n string) bool {
	if slices.ContainsFunc(m.cfg.HostsOf(app), func(h string) bool { return covers(n, normalizeName(h)) }) {
		return true
	}
	if strings.HasPrefix(n, "*.") || m.cfg.AppFor == nil {
		return false
	}
	to, ok := m.cfg.AppFor(n)
	return ok && to == app
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
		// A damaged certificate is named by its id.
		if ok, err := m.users.removeDamaged(app, strings.TrimSpace(host)); ok || err != nil {
			if err != nil {
				return fmt.Errorf("removing a damaged certificate of %s: %w", app, err)
			}
			m.log.Info("damaged user certificate removed", "app", app, "id", host)
			return nil
		}
		return paas.Errorf("%s has no certificate of its own for %s", app, host)
	}
	if err := m.users.remove(c); err != nil {
		return fmt.Errorf("removing the certificate of %s: %w", app, err)
	}
	m.log.Info("user certificate removed", "app", app, "hosts", c.names)
	return nil
}

// RemoveApp deletes every certificate the user brought for app, when the
// app is destroyed. Certificates obtained automatically are left: they
// belong to hosts, not apps, and expire on their own.
func (m *Manager) RemoveApp(app string) error {
	return m.removeApp(app)
}

// RemoveGone deletes the certificates of every app that has some but no
// longer exists: apps destroyed while paasd stopped between destroying
// the app and its certificates. exists reports whether an app exists;
// when unsure, it must say so.
func (m *Manager) RemoveGone(exists func(app string) bool) error {
	apps, err := m.users.apps()
	if err != nil {
		return fmt.Errorf("listing the apps with certificates: %w", err)
	}
	var errs []error
	for _, app := range apps {
		if !exists(app) {
			errs = append(errs, m.removeApp(app))
		}
	}
	return errors.Join(errs...)
}

// removeApp is RemoveApp.
func (m *Manager) removeApp(app string) error {
	n, err := m.users.removeApp(app)
	if err != nil {
		return fmt.Errorf("removing the certificates of %s: %w", app, err)
	}
	if n > 0 {
		m.log.Info("user certificates removed with their app", "app", app, "count", n)
	}
	return nil
}
