package drains

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"paas"
)

// Schemes a drain URL may use.
const (
	SchemeSyslog    = "syslog"     // RFC 5424 over plain TCP, octet-counted
	SchemeSyslogTLS = "syslog+tls" // the same over TLS
	SchemeHTTPS     = "https"      // batched POSTs of octet-counted frames
)

// maxURLBytes bounds a drain URL.
const maxURLBytes = 2048

// mask replaces every secret in a shown URL.
const mask = "***"

// minSecret is the shortest secret Scrub replaces in free text.
const minSecret = 3

// Target is a validated drain URL.
type Target struct {
	Raw    string   // the URL as given, secrets included: never shown
	URL    *url.URL // parsed Raw
	Scheme string   // one of the Scheme constants
	Host   string   // host name or IP address, without brackets
	Port   int
}

// Addr is host:port for dialing.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Masked is the URL with its secrets replaced by "***".
func (t Target) Masked() string { return Mask(t.Raw) }

// Parse validates a drain URL: syslog://HOST:PORT, syslog+tls://HOST:PORT
// or https://HOST[:PORT][/PATH][?QUERY], user info allowed on https only.
// Errors are *paas.Error with the URL masked.
func Parse(raw string) (Target, error) {
	bad := func(why string) (Target, error) {
		return Target{}, paas.Errorf("invalid drain URL %s: %s", Mask(raw), why)
	}
	if len(raw) > maxURLBytes {
		return bad("longer than 2048 bytes")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return bad("spaces and control characters are not allowed")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return bad("use syslog://HOST:PORT, syslog+tls://HOST:PORT or https://HOST/PATH")
	}
	t := Target{Raw: raw, URL: u, Scheme: strings.ToLower(u.Scheme), Host: u.Hostname()}
	switch t.Scheme {
	case SchemeSyslog, SchemeSyslogTLS, SchemeHTTPS:
	case "":
		return bad("a scheme is needed: syslog://, syslog+tls:// or https://")
	case "http":
		return bad("plain http is not supported: use https://")
	default:
		return bad("the scheme must be syslog, syslog+tls or https")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("a fragment (#...) is not allowed")
	}
	if err := checkHost(t.Host); err != "" {
		return bad(err)
	}
	port := u.Port()
	switch {
	case port == "" && t.Scheme == SchemeHTTPS:
		t.Port = 443
	case port == "":
		return bad("a port is needed (HOST:PORT)")
	default:
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return bad("the port must be a number from 1 to 65535")
		}
		t.Port = n
	}
	if strings.HasSuffix(u.Host, ":") {
		return bad("the port must be a number from 1 to 65535")
	}
	if t.Scheme != SchemeHTTPS {
		if u.User != nil {
			return bad("user info is only allowed on https drains")
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery {
			return bad("a syslog drain is HOST:PORT only, with no path or query")
		}
	}
	return t, nil
}

// checkHost returns why host is not a host name or IP address, "" when
// it is.
func checkHost(host string) string {
	if host == "" {
		return "a host is needed"
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	if len(host) > 253 {
		return "the host name is too long"
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "the host must be a host name or an IP address"
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "the host must be a host name or an IP address"
			}
		}
	}
	return ""
}

// Mask returns raw with its secrets replaced by "***": the password (and
// the user name when there is no password, as it is then a token), every
// query value, and the fragment. A URL that does not parse is shown as
// its scheme and "***" only. The result is always one line.
func Mask(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || strings.ContainsFunc(raw, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		scheme, _, ok := strings.Cut(raw, "://")
		if !ok || !validScheme(scheme) {
			return mask
		}
		return scheme + "://" + mask
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		if _, hasPw := u.User.Password(); hasPw {
			b.WriteString(url.PathEscape(u.User.Username()))
			b.WriteString(":" + mask)
		} else {
			b.WriteString(mask)
		}
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteByte('?')
		for i, pair := range strings.Split(u.RawQuery, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, _, hasValue := strings.Cut(pair, "=")
			if !hasValue {
				// A bare word may be a token itself.
				b.WriteString(mask)
				continue
			}
			b.WriteString(k)
			b.WriteString("=" + mask)
		}
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		b.WriteString("#" + mask)
	}
	return b.String()
}

// validScheme reports whether s looks like a URL scheme.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// secrets lists the substrings of t.Raw that Mask hides, raw and decoded,
// longest first, so that error text quoting them can be scrubbed.
func (t Target) secrets() []string {
	var out []string
	add := func(s string) {
		// Shorter values are not secrets worth the damage replacing them
		// everywhere in a message would do.
		if len(s) >= minSecret {
			out = append(out, s)
			if esc := url.QueryEscape(s); esc != s {
				out = append(out, esc)
			}
		}
	}
	u := t.URL
	if u.User != nil {
		pw, hasPw := u.User.Password()
		add(pw)
		if !hasPw {
			add(u.User.Username())
		}
	}
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, hasValue := strings.Cut(pair, "=")
		if !hasValue {
			v = k
		}
		add(v)
		if dec, err := url.QueryUnescape(v); err == nil {
			add(dec)
		}
	}
	// Longest first: a secret containing another is replaced whole.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if len(out[j]) > len(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Scrub makes an error message safe to show: the raw URL becomes its
// masked form, any secret of the URL becomes "***", and the message is
// one line.
func (t Target) Scrub(msg string) string {
	if t.Raw != "" {
		msg = strings.ReplaceAll(msg, t.Raw, t.Masked())
	}
	if t.URL != nil {
		for _, s := range t.secrets() {
			msg = strings.ReplaceAll(msg, s, mask)
		}
	}
	return strings.Join(strings.Fields(msg), " ")
}
