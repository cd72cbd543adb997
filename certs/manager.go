// Package certs gives the HTTPS front door its certificates: users' own
// (certs:add), leaves of paasd's local CA for hosts under localhost, and
// certificates obtained and renewed from an ACME CA by certmagic, on
// demand, for hosts routed to an app. Everything is kept in the store.
package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"

	"paas/store"
)

// Config is what a Manager needs.
type Config struct {
	// Store keeps certificates, keys, ACME accounts and the local CA.
	Store *store.Store
	// Email is the ACME account's contact; empty turns ACME off, so
	// hosts outside localhost without a user certificate fail the
	// handshake.
	Email string
	// CA is the ACME directory URL.
	CA string
	// RootCAs, when set, are the roots trusted for the ACME server's
	// own HTTPS (a test CA's); nil means the system's.
	RootCAs *x509.CertPool
	// Allowed reports whether host is routed to an app: only those get
	// certificates, so a random server name never starts an ACME order.
	Allowed func(host string) bool
	// AppFor returns the app host is routed to; a user certificate is
	// served only for its own app's hosts. Nil uses no such check.
	AppFor func(host string) (string, bool)
	// HostsOf lists the hosts routed to app.
	HostsOf func(app string) []string
	// HTTPAddr and HTTPSAddr are the addresses of the listeners that
	// answer the HTTP-01 (HTTPHandler) and TLS-ALPN-01 (TLSConfig)
	// challenges, so that certmagic does not try to open its own.
	HTTPAddr, HTTPSAddr string
	// LocalCAFile, when set, receives the local CA's root certificate
	// (PEM), for clients to trust (curl --cacert).
	LocalCAFile string
	Logger      *slog.Logger

	// Tests only: a renewal window other than certmagic's default, and
	// no ACME renewal information (ARI) queries.
	renewalRatio float64
	disableARI   bool
	// Tests only: force one challenge type.
	disableHTTP01, disableTLSALPN01 bool
}

// Manager picks the certificate of each TLS handshake and answers ACME
// challenges.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	st    *store.Store
	local *localCA
	users *userCerts

	// nil when ACME is off
	magic  *certmagic.Config
	issuer *certmagic.ACMEIssuer
	cache  *certmagic.Cache
	closed sync.Once
}

// New makes a Manager: it loads (or creates) the local CA and the users'
// certificates and, with an email, sets up certmagic on the store.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("certs: no store")
	}
	if cfg.Allowed == nil {
		cfg.Allowed = func(string) bool { return false }
	}
	if cfg.HostsOf == nil {
		cfg.HostsOf = func(string) []string { return nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, st: cfg.Store}
	now := func() time.Time { return time.Now() }
	var err error
	var damaged error
	if m.local, damaged, err = loadLocalCA(cfg.Store, cfg.LocalCAFile, now); err != nil {
		return nil, err
	}
	if damaged != nil {
		m.log.Error("the local CA's root was damaged in paasd's store and is replaced by a new one: "+
			"clients that trusted the old root (for hosts under localhost) must trust the new one", "file", cfg.LocalCAFile, "err", damaged)
	}
	if m.users, err = loadUserCerts(cfg.Store, cfg.Logger); err != nil {
		return nil, err
	}
	if cfg.Email != "" {
		if err := m.setUpACME(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) setUpACME() error {
	zl := zapLogger(m.log.With("part", "certmagic"))
	var magic *certmagic.Config
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		Logger:           zl,
	})
	magic = certmagic.New(m.cache, certmagic.Config{
		Storage:            NewStorage(m.st),
		RenewalWindowRatio: m.cfg.renewalRatio,
		DisableARI:         m.cfg.disableARI,
		OnDemand: &certmagic.OnDemandConfig{
			DecisionFunc: func(ctx context.Context, name string) error {
				if !m.cfg.Allowed(name) {
					return fmt.Errorf("%s is not routed to an app", name)
				}
				return nil
			},
		},
		Logger: zl,
	})
	tmpl := certmagic.ACMEIssuer{
		CA:                      m.cfg.CA,
		Email:                   m.cfg.Email,
		Agreed:                  true,
		TrustedRoots:            m.cfg.RootCAs,
		DisableHTTPChallenge:    m.cfg.disableHTTP01,
		DisableTLSALPNChallenge: m.cfg.disableTLSALPN01,
		Logger:                  zl,
	}
	var err error
	if tmpl.ListenHost, tmpl.AltHTTPPort, err = hostPort(m.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("certs: HTTPAddr: %w", err)
	}
	if _, tmpl.AltTLSALPNPort, err = hostPort(m.cfg.HTTPSAddr); err != nil {
		return fmt.Errorf("certs: HTTPSAddr: %w", err)
	}
	// Without a listener of ours, certmagic would open its own on the
	// standard port; that challenge is not used instead.
	tmpl.DisableHTTPChallenge = tmpl.DisableHTTPChallenge || m.cfg.HTTPAddr == ""
	tmpl.DisableTLSALPNChallenge = tmpl.DisableTLSALPNChallenge || m.cfg.HTTPSAddr == ""
	m.issuer = certmagic.NewACMEIssuer(magic, tmpl)
	magic.Issuers = []certmagic.Issuer{m.issuer}
	m.magic = magic
	return nil
}

// hostPort splits a listener's address; "" gives no port.
func hostPort(addr string) (string, int, error) {
	if addr == "" {
		return "", 0, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return h, n, nil
}

// Close stops certmagic's maintenance (renewals of cached certificates).
func (m *Manager) Close() {
	m.closed.Do(func() {
		if m.cache != nil {
			m.cache.Stop()
		}
	})
}

// LocalRootPEM is the local CA's root certificate.
func (m *Manager) LocalRootPEM() []byte { return m.local.rootPEM() }

// TLSConfig is the HTTPS listener's configuration: TLS 1.2 and up,
// HTTP/2, and the certificate of each handshake from getCertificate.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1", acmez.ACMETLS1Protocol},
		GetCertificate: m.getCertificate,
	}
}

// HTTPHandler answers ACME HTTP-01 challenges and passes every other
// request to next.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	if m.issuer == nil {
		return next
	}
	return m.issuer.HTTPChallengeHandler(next)
}

// errNoCertificate fails a handshake for a name paasd has no certificate
// for.
var errNoCertificate = errors.New("no certificate for this server name")

// getCertificate picks, in order: the answer to a TLS-ALPN-01 challenge,
// the user's certificate covering the name, a local CA leaf for names
// under localhost, and certmagic's (loaded or obtained on demand) for
// routed names.
func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if slices.Equal(hello.SupportedProtos, []string{acmez.ACMETLS1Protocol}) {
		if m.magic == nil {
			return nil, errNoCertificate
		}
		return m.magic.GetCertificate(hello)
	}
	name := normalizeName(hello.ServerName)
	if name == "" {
		return nil, errNoCertificate
	}
	if c := m.users.lookup(name, m.cfg.AppFor); c != nil {
		return c, nil
	}
	if !m.cfg.Allowed(name) {
		return nil, fmt.Errorf("%w: %s is not routed", errNoCertificate, name)
	}
	if isLocalHost(name) {
		return m.local.leaf(name)
	}
	if m.magic == nil {
		return nil, fmt.Errorf("%w: %s (ACME is off)", errNoCertificate, name)
	}
	return m.magic.GetCertificate(hello)
}

// normalizeName lower-cases a server name and drops a trailing dot.
func normalizeName(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}
