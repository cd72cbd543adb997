package drains

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"paas"
)

// FuzzParse: Parse never panics, accepts only the three schemes with a
// host and a port in range, and neither its errors nor Mask ever show the
// URL's password or query values, or span lines.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"syslog://a.example:514", "syslog+tls://[::1]:6514", "https://u:pw@h.example/p?token=abc",
		"https://h.example:99999", "http://x", "syslog://u:p@h:1", "https://%zz", "https://h/#f", "https://a@b@c/",
		"https://u:pass@h.example/?a=1&a=2&&=x", "syslog://h.example:514\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := Parse(raw)
		masked := Mask(raw)
		if strings.ContainsAny(masked, "\r\n") {
			t.Fatalf("Mask(%q) = %q spans lines", raw, masked)
		}
		if err != nil {
			var pe *paas.Error
			if !errors.As(err, &pe) || strings.ContainsAny(pe.Msg, "\r\n") {
				t.Fatalf("error %v", err)
			}
			if leaks(raw, pe.Msg) {
				t.Fatalf("error %q shows a secret of %q", pe.Msg, raw)
			}
			return
		}
		switch tg.Scheme {
		case SchemeSyslog, SchemeSyslogTLS, SchemeHTTPS:
		default:
			t.Fatalf("scheme %q accepted", tg.Scheme)
		}
		if tg.Host == "" || tg.Port < 1 || tg.Port > 65535 {
			t.Fatalf("accepted %q as %+v", raw, tg)
		}
		if masked != tg.Masked() {
			t.Fatalf("Masked %q != Mask %q", tg.Masked(), masked)
		}
		if leaks(raw, masked) {
			t.Fatalf("Mask(%q) = %q shows a secret", raw, masked)
		}
		// The masked form parses to the same target, with no secrets.
		if mt, err := Parse(masked); err == nil && mt.Addr() != tg.Addr() {
			t.Fatalf("masked %q names %s, not %s", masked, mt.Addr(), tg.Addr())
		}
	})
}

// leaks reports whether shown contains the password or a query value of
// raw (of 8 bytes or more) that does not also appear in raw's public
// parts.
func leaks(raw, shown string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	public := u.Scheme + " " + u.Host + " " + u.Path + " " + u.EscapedPath()
	if _, ok := u.User.Password(); ok {
		public += " " + u.User.Username()
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw)
	}
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		public += " " + k
		secrets = append(secrets, v)
	}
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(shown, s) && !strings.Contains(public, s) {
			return true
		}
	}
	return false
}
