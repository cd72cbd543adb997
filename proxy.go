package paas

import "time"

// ProxySettings are an app's router settings, changed with proxy:set.
// Zero values mean the platform's defaults.
type ProxySettings struct {
	// HTTPSRedirect answers plain HTTP requests with a redirect to HTTPS
	// (https-redirect=true).
	HTTPSRedirect bool `json:",omitempty"`
	// HSTS adds Strict-Transport-Security to HTTPS responses (hsts=true).
	HSTS bool `json:",omitempty"`
	// NoDefaultDomain stops routing APP.DOMAIN; only the custom domains
	// are served (default-domain=false).
	NoDefaultDomain bool `json:",omitempty"`
	// MaxBody is the largest request body in bytes; larger ones get 413
	// (max-body=10m). 0 means the platform default.
	MaxBody int64 `json:",omitempty"`
	// ConnectTimeout bounds connecting to an instance (connect-timeout=5s).
	ConnectTimeout time.Duration `json:",omitempty"`
	// ResponseTimeout bounds the wait for the first response byte; past
	// it the client gets 504 (response-timeout=30s).
	ResponseTimeout time.Duration `json:",omitempty"`
}

// Cert describes one certificate serving some of an app's hosts.
type Cert struct {
	Hosts    []string  // names the certificate covers
	Issuer   string    // issuer's common name (or organisation)
	NotAfter time.Time // expiry; zero when not issued yet
	// Source is "acme" (obtained automatically), "local" (paasd's own CA,
	// for hosts under localhost), "user" (certs:add), "none" (ACME is off
	// and no certificate covers the host) or "unused" (a certs:add
	// certificate that serves none of the app's hosts now).
	Source string
}
