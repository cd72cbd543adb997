package paas

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Bounds of a DNS name, in bytes of its ASCII form.
const (
	maxDomainLen = 253
	maxLabelLen  = 63
)

// NormalizeDomain turns a host name a user typed into the form the store
// and the router keep: lowercase, one trailing dot dropped, international
// names in their ASCII (punycode) form. A wildcard is allowed only as the
// whole first label, with at least two labels after it ("*.example.com").
// Ports, IP addresses, single-label names, empty or over-long labels and
// anything that is not letters, digits and hyphens after IDNA mapping are
// refused with a one-line *Error.
func NormalizeDomain(s string) (string, error) {
	name := strings.TrimSuffix(s, ".")
	bad := func(why string) error {
		return Errorf("invalid domain %q: %s", s, why)
	}
	if name == "" {
		return "", bad("it is empty")
	}
	if strings.Contains(name, ":") || strings.HasPrefix(name, "[") {
		if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
			return "", bad("IP addresses cannot be domains")
		}
		return "", bad("leave out the port (and any scheme): a domain is a name such as www.example.com")
	}
	if strings.ContainsAny(name, "/@?#") {
		return "", bad("use the host name only, such as www.example.com")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "", bad("IP addresses cannot be domains")
	}
	wild := false
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		wild, name = true, rest
	}
	if strings.Contains(name, "*") {
		return "", bad("a wildcard must be the whole first label, as in *.example.com")
	}
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", bad("not a valid host name (letters, digits and hyphens between dots)")
	}
	// Mapping may turn another full stop (such as U+3002) into a
	// trailing dot; one is dropped as for ASCII input.
	if !strings.HasSuffix(s, ".") {
		ascii = strings.TrimSuffix(ascii, ".")
	}
	if err := checkLabels(ascii, wild); err != nil {
		return "", bad(err.Error())
	}
	// The name must be a fixed point, so that normalising a normalised
	// name changes nothing.
	if again, err := idna.Lookup.ToASCII(ascii); err != nil || again != ascii {
		return "", bad("not a valid host name (letters, digits and hyphens between dots)")
	}
	if _, err := netip.ParseAddr(ascii); err == nil {
		return "", bad("IP addresses cannot be domains")
	}
	if wild {
		ascii = "*." + ascii
	}
	if len(ascii) > maxDomainLen {
		return "", bad(fmt.Sprintf("longer than %d bytes", maxDomainLen))
	}
	return ascii, nil
}

// checkLabels checks the labels of an ASCII name: letters, digits and
// hyphens, none empty or longer than 63 bytes, no hyphen at either end, a
// non-numeric last label, and at least two labels (two after a wildcard).
func checkLabels(name string, wild bool) error {
	labels := strings.Split(name, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return fmt.Errorf("empty label")
		case len(l) > maxLabelLen:
			return fmt.Errorf("label longer than %d bytes", maxLabelLen)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("a label cannot start or end with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("only letters, digits and hyphens are allowed")
			}
		}
	}
	// Browsers read a name whose last label is a number (decimal, or hex
	// with 0x) as an IPv4 address.
	if last := labels[len(labels)-1]; isNumeric(last) || strings.HasPrefix(last, "0x") && isHex(last[2:]) {
		return fmt.Errorf("the last label cannot be a number")
	}
	switch {
	case wild && len(labels) < 2:
		return fmt.Errorf("a wildcard needs at least two labels after it, as in *.example.com")
	case len(labels) < 2:
		return fmt.Errorf("a domain needs at least two labels, as in example.com")
	}
	return nil
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Proxy setting keys, as proxy:set takes them.
const (
	ProxyHTTPSRedirect   = "https-redirect"
	ProxyHSTS            = "hsts"
	ProxyDefaultDomain   = "default-domain"
	ProxyMaxBody         = "max-body"
	ProxyConnectTimeout  = "connect-timeout"
	ProxyResponseTimeout = "response-timeout"
)

// ProxyKeys lists the proxy setting keys in the order they are shown.
var ProxyKeys = []string{ProxyHTTPSRedirect, ProxyHSTS, ProxyDefaultDomain, ProxyMaxBody, ProxyConnectTimeout, ProxyResponseTimeout}

// maxProxyTimeout bounds connect-timeout and response-timeout.
const maxProxyTimeout = time.Hour

// proxyDefault is how a size or timeout at the platform's default is shown;
// proxy:set takes it too.
const proxyDefault = "default"

// ParseProxySetting applies one proxy:set pair to p. An empty value (or
// "default") restores the platform default. An unknown key or a bad value
// is a one-line *Error naming what is valid, and p is left unchanged.
func ParseProxySetting(p *ProxySettings, key, value string) error {
	reset := value == "" || value == proxyDefault
	switch key {
	case ProxyHTTPSRedirect, ProxyHSTS, ProxyDefaultDomain:
		on := key == ProxyDefaultDomain // the default of each flag
		if !reset {
			v, err := parseProxyBool(value)
			if err != nil {
				return Errorf("invalid %s %q: use true or false", key, value)
			}
			on = v
		}
		switch key {
		case ProxyHTTPSRedirect:
			p.HTTPSRedirect = on
		case ProxyHSTS:
			p.HSTS = on
		default:
			p.NoDefaultDomain = !on
		}
	case ProxyMaxBody:
		var n int64
		if !reset {
			v, err := ParseSize(value)
			if err != nil || v == 0 {
				return Errorf("invalid max-body %q: use a size above 0 such as 10m or 1g (empty for the default)", value)
			}
			n = v
		}
		p.MaxBody = n
	case ProxyConnectTimeout, ProxyResponseTimeout:
		var d time.Duration
		if !reset {
			v, err := parseProxyDuration(value)
			if err != nil {
				return Errorf("invalid %s %q: use a duration from 1ms to 1h such as 5s, or whole seconds (empty for the default)", key, value)
			}
			d = v
		}
		if key == ProxyConnectTimeout {
			p.ConnectTimeout = d
		} else {
			p.ResponseTimeout = d
		}
	default:
		return Errorf("unknown proxy setting %q: use %s", key, strings.Join(ProxyKeys, ", "))
	}
	return nil
}

// maxSize bounds ParseSize.
const maxSize = 1 << 40

// ParseSize reads a size in bytes the way ParseMemory does (a whole number,
// or with a k, m or g suffix in powers of 1024, either case, an optional
// trailing b) but without its 4m floor: request body and header limits
// are smaller than any memory limit. 0 is allowed; the most is 1 TiB.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToLower(s), "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if !isNumeric(t) || err != nil || n > maxSize/mult {
		return 0, Errorf("invalid size %q: use bytes or a size such as 16k, 10m or 1g", s)
	}
	return n * mult, nil
}

func parseProxyBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// parseProxyDuration reads a Go duration ("5s", "1m30s") or whole seconds
// ("5"), from 1ms to an hour.
func parseProxyDuration(s string) (time.Duration, error) {
	var d time.Duration
	if isNumeric(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > int64(maxProxyTimeout/time.Second) {
			return 0, fmt.Errorf("out of range: %q", s)
		}
		d = time.Duration(n) * time.Second
	} else {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, err
		}
		d = v
	}
	if d < time.Millisecond || d > maxProxyTimeout {
		return 0, fmt.Errorf("out of range: %s", d)
	}
	return d, nil
}

// ProxySettingLines shows p as KEY=VALUE lines in ProxyKeys order, a size
// or timeout at the platform's default as "default". Every line can be
// given back to proxy:set.
func ProxySettingLines(p ProxySettings) []string {
	size := proxyDefault
	if p.MaxBody > 0 {
		size = FormatMemory(p.MaxBody)
	}
	dur := func(d time.Duration) string {
		if d <= 0 {
			return proxyDefault
		}
		return d.String()
	}
	return []string{
		ProxyHTTPSRedirect + "=" + strconv.FormatBool(p.HTTPSRedirect),
		ProxyHSTS + "=" + strconv.FormatBool(p.HSTS),
		ProxyDefaultDomain + "=" + strconv.FormatBool(!p.NoDefaultDomain),
		ProxyMaxBody + "=" + size,
		ProxyConnectTimeout + "=" + dur(p.ConnectTimeout),
		ProxyResponseTimeout + "=" + dur(p.ResponseTimeout),
	}
}
