package router

import (
	"net"
	"strings"

	"golang.org/x/net/idna"
)

// normalizeHost lowercases a host, drops a port and a trailing dot, and
// turns an internationalised name into its ASCII form.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return ""
			}
			return a
		}
	}
	return strings.ToLower(host)
}

// appFor returns the app named by host under domain ("hello.localhost" ->
// "hello"), or "" when host is not directly below domain. host must be
// normalized.
func appFor(host, domain string) string {
	if domain == "" {
		return ""
	}
	app, ok := strings.CutSuffix(host, "."+domain)
	if !ok || app == "" || strings.Contains(app, ".") {
		return ""
	}
	return app
}
