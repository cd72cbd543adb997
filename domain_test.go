package paas

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNormalizeDomain(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	ok := map[string]string{
		"example.com":                     "example.com",
		"WWW.Example.COM":                 "www.example.com",
		"www.example.com.":                "www.example.com",
		"*.example.com":                   "*.example.com",
		"*.Example.com.":                  "*.example.com",
		"bücher.example":                  "xn--bcher-kva.example",
		"BÜCHER.example":                  "xn--bcher-kva.example",
		"xn--bcher-kva.example":           "xn--bcher-kva.example",
		"*.bücher.example":                "*.xn--bcher-kva.example",
		"a-b.c0.example":                  "a-b.c0.example",
		"例え.テスト":                          "xn--r8jz45g.xn--zckzah",
		"www.example。com":                 "www.example.com",
		long63 + ".example.com":           long63 + ".example.com",
		"1.2.3.example":                   "1.2.3.example",
		"123.example.com":                 "123.example.com",
		strings.Repeat("a.", 125) + "com": strings.Repeat("a.", 125) + "com",
	}
	for in, want := range ok {
		got, err := NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                "empty",
		".":                               "empty",
		"example.com:8080":                "port",
		"http://example.com":              "port",
		"example.com/path":                "host name only",
		"user@example.com":                "host name only",
		"127.0.0.1":                       "IP address",
		"::1":                             "IP address",
		"[::1]":                           "IP address",
		"[::1]:80":                        "port",
		"localhost":                       "two labels",
		"com.":                            "two labels",
		"*.com":                           "two labels after it",
		"*":                               "wildcard",
		"*.":                              "wildcard",
		"a.*.example.com":                 "wildcard",
		"*x.example.com":                  "wildcard",
		"**.example.com":                  "wildcard",
		"*.*.example.com":                 "wildcard",
		"www..example.com":                "",
		".example.com":                    "",
		"example.com..":                   "",
		long63 + "a.example.com":          "",
		"under_score.example.com":         "",
		"-lead.example.com":               "",
		"trail-.example.com":              "",
		"sp ace.example.com":              "",
		"new\nline.example.com":           "",
		"example.123":                     "number",
		"example.0x1f":                    "number",
		"1.2.3.4.":                        "IP address",
		strings.Repeat("a.", 126) + "com": "253",
		"ab--cd.example.com":              "",
		"xn--zz.example.com":              "",
		"a\u200db.example.com":            "",
		"tab\t.example.com":               "",
	}
	for in, want := range bad {
		got, err := NormalizeDomain(in)
		if err == nil {
			t.Errorf("NormalizeDomain(%q) = %q, want an error containing %q", in, got, want)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("NormalizeDomain(%q): %v is not a user error", in, err)
		}
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("NormalizeDomain(%q) error %q, want one line containing %q", in, err, want)
		}
	}
}

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "WWW.Example.COM.", "*.example.com", "bücher.example", "例え.テスト", "a..b", "127.0.0.1", "x:80", "*.com", "xn--bcher-kva.example", "www.example。com", "ß.example", "İ.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeDomain(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		for i := 0; i < len(got); i++ {
			if got[i] >= utf8.RuneSelf {
				t.Fatalf("NormalizeDomain(%q) = %q: not ASCII", s, got)
			}
		}
		if len(got) > maxDomainLen || got != strings.ToLower(got) || strings.HasSuffix(got, ".") {
			t.Fatalf("NormalizeDomain(%q) = %q: not normal", s, got)
		}
		again, err := NormalizeDomain(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeDomain(%q) = %q, but again = %q, %v", s, got, again, err)
		}
	})
}

func TestParseProxySetting(t *testing.T) {
	var p ProxySettings
	steps := []struct{ key, value string }{
		{"https-redirect", "true"},
		{"hsts", "on"},
		{"default-domain", "false"},
		{"max-body", "10m"},
		{"connect-timeout", "5"},
		{"response-timeout", "1m30s"},
	}
	for _, s := range steps {
		if err := ParseProxySetting(&p, s.key, s.value); err != nil {
			t.Fatalf("%s=%s: %v", s.key, s.value, err)
		}
	}
	want := ProxySettings{HTTPSRedirect: true, HSTS: true, NoDefaultDomain: true, MaxBody: 10 << 20, ConnectTimeout: 5 * time.Second, ResponseTimeout: 90 * time.Second}
	if p != want {
		t.Fatalf("settings = %+v, want %+v", p, want)
	}
	lines := strings.Join(ProxySettingLines(p), "\n")
	if lines != "https-redirect=true\nhsts=true\ndefault-domain=false\nmax-body=10m\nconnect-timeout=5s\nresponse-timeout=1m30s" {
		t.Fatalf("lines:\n%s", lines)
	}
	// Every shown line reads back to the same settings.
	var back ProxySettings
	for _, l := range ProxySettingLines(p) {
		k, v, _ := strings.Cut(l, "=")
		if err := ParseProxySetting(&back, k, v); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	if back != p {
		t.Fatalf("read back %+v, want %+v", back, p)
	}
	// Empty values and "default" restore the defaults.
	for _, k := range ProxyKeys {
		v := ""
		if k == ProxyMaxBody {
			v = "default"
		}
		if err := ParseProxySetting(&p, k, v); err != nil {
			t.Fatalf("%s=%s: %v", k, v, err)
		}
	}
	if p != (ProxySettings{}) {
		t.Fatalf("after reset: %+v", p)
	}
	if got := strings.Join(ProxySettingLines(p), " "); got != "https-redirect=false hsts=false default-domain=true max-body=default connect-timeout=default response-timeout=default" {
		t.Fatalf("default lines: %s", got)
	}
	if err := ParseProxySetting(&p, "max-body", "512"); err != nil || p.MaxBody != 512 {
		t.Fatalf("max-body=512: %d, %v", p.MaxBody, err)
	}
	if err := ParseProxySetting(&p, "response-timeout", "1h"); err != nil || p.ResponseTimeout != time.Hour {
		t.Fatalf("response-timeout=1h: %s, %v", p.ResponseTimeout, err)
	}
}

func TestParseProxySettingRejects(t *testing.T) {
	bad := map[[2]string]string{
		{"nope", "1"}:                                "https-redirect, hsts, default-domain, max-body, connect-timeout, response-timeout",
		{"HSTS", "true"}:                             "unknown proxy setting",
		{"hsts", "maybe"}:                            "true or false",
		{"https-redirect", " true"}:                  "true or false",
		{"max-body", "0"}:                            "above 0",
		{"max-body", "-1"}:                           "above 0",
		{"max-body", "10x"}:                          "above 0",
		{"max-body", "2000g"}:                        "above 0",
		{"max-body", "1.5m"}:                         "above 0",
		{"connect-timeout", "0"}:                     "1ms to 1h",
		{"connect-timeout", "0s"}:                    "1ms to 1h",
		{"connect-timeout", "-5s"}:                   "1ms to 1h",
		{"connect-timeout", "61m"}:                   "1ms to 1h",
		{"connect-timeout", "3601"}:                  "1ms to 1h",
		{"response-timeout", "5 s"}:                  "1ms to 1h",
		{"response-timeout", "soon"}:                 "1ms to 1h",
		{"response-timeout", "99999999999999999999"}: "1ms to 1h",
	}
	for kv, want := range bad {
		p := ProxySettings{HSTS: true, MaxBody: 7, ConnectTimeout: time.Second}
		before := p
		err := ParseProxySetting(&p, kv[0], kv[1])
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: error %v, want one line containing %q", kv[0], kv[1], err, want)
		}
		if p != before {
			t.Errorf("%s=%q changed the settings to %+v", kv[0], kv[1], p)
		}
	}
}

func FuzzParseProxySetting(f *testing.F) {
	for _, kv := range [][2]string{{"hsts", "true"}, {"max-body", "10m"}, {"connect-timeout", "5"}, {"response-timeout", "1m30s"}, {"default-domain", ""}, {"x", "y"}, {"max-body", "9999999999g"}} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		start := ProxySettings{HSTS: true, MaxBody: 3, ResponseTimeout: time.Minute}
		p := start
		if err := ParseProxySetting(&p, key, value); err != nil {
			if p != start {
				t.Fatalf("%s=%q failed but changed the settings to %+v", key, value, p)
			}
			if strings.Contains(err.Error(), "\n") && !strings.Contains(key+value, "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if p.MaxBody < 0 || p.ConnectTimeout < 0 || p.ConnectTimeout > time.Hour || p.ResponseTimeout < 0 || p.ResponseTimeout > time.Hour {
			t.Fatalf("%s=%q gave out-of-range settings %+v", key, value, p)
		}
		// What is shown reads back to the same settings.
		var back ProxySettings
		for _, l := range ProxySettingLines(p) {
			k, v, _ := strings.Cut(l, "=")
			if err := ParseProxySetting(&back, k, v); err != nil {
				t.Fatalf("shown line %q does not read back: %v", l, err)
			}
		}
		if back != p {
			t.Fatalf("%s=%q: shown settings read back as %+v, want %+v", key, value, back, p)
		}
	})
}

func TestParseSize(t *testing.T) {
	ok := map[string]int64{"0": 0, "512": 512, "16k": 16 << 10, "16K": 16 << 10, "10m": 10 << 20, "10MB": 10 << 20, "1g": 1 << 30, "1024g": 1 << 40, "1kb": 1024}
	for in, want := range ok {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "+1", "1.5m", "1025g", "1t", "10 m", "0x10", "99999999999999999999", "b"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestUserMessageDiskFull(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := fmt.Errorf("committing: %w", &os.PathError{Op: "write", Path: "/var/lib/paas/paas.db", Err: errno})
		msg, ok := UserMessage(err)
		if ok || msg != "the server's disk is full; ask the operator to free space" {
			t.Errorf("%v: %q %v", errno, msg, ok)
		}
	}
	if msg, _ := UserMessage(errors.New("boom")); msg != "internal error" {
		t.Errorf("other error: %q", msg)
	}
}
