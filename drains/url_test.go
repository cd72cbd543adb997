package drains

import (
	"errors"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/logs"
)

func TestParse(t *testing.T) {
	good := []struct {
		raw, scheme, addr string
	}{
		{"syslog://logs.example.com:514", SchemeSyslog, "logs.example.com:514"},
		{"syslog+tls://logs.example.com:6514/", SchemeSyslogTLS, "logs.example.com:6514"},
		{"SYSLOG://127.0.0.1:1", SchemeSyslog, "127.0.0.1:1"},
		{"syslog://[::1]:514", SchemeSyslog, "[::1]:514"},
		{"https://logs.example.com", SchemeHTTPS, "logs.example.com:443"},
		{"https://user:pw@logs.example.com:8443/a/b?token=x&y=z", SchemeHTTPS, "logs.example.com:8443"},
	}
	for _, g := range good {
		tg, err := Parse(g.raw)
		if err != nil || tg.Scheme != g.scheme || tg.Addr() != g.addr {
			t.Errorf("Parse(%q) = %+v, %v", g.raw, tg, err)
		}
	}
	bad := map[string]string{
		"":                                     "a scheme is needed",
		"logs.example.com:514":                 "use syslog://",
		"smtp://logs.example.com:514":          "the scheme must be",
		"http://logs.example.com":              "plain http",
		"ftp://u:hunter2@x.example":            "the scheme must be",
		"syslog://logs.example.com":            "a port is needed",
		"syslog://logs.example.com:0":          "1 to 65535",
		"syslog://logs.example.com:65536":      "1 to 65535",
		"syslog://logs.example.com:0514":       "1 to 65535",
		"syslog://logs.example.com:":           "a port is needed",
		"syslog://:514":                        "a host is needed",
		"syslog://bad_host!.example:514":       "host name or an IP",
		"syslog://-x.example:514":              "host name or an IP",
		"syslog://a..b:514":                    "host name or an IP",
		"syslog://u:hunter2@x.example:514":     "only allowed on https",
		"syslog://x.example:514/path":          "HOST:PORT only",
		"syslog://x.example:514?token=hunter2": "HOST:PORT only",
		"https://x.example/#frag":              "fragment",
		"https://x.example/a b":                "spaces",
		"https://x.example/\nhunter2":          "control characters",
		"https:///path":                        "a host is needed",
		"https:x.example":                      "use syslog://",
		"https://" + strings.Repeat("a", 3000): "longer than 2048",
	}
	for raw, want := range bad {
		_, err := Parse(raw)
		var pe *paas.Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, want) {
			t.Errorf("Parse(%q) = %v, want %q", raw, err, want)
			continue
		}
		if strings.Contains(pe.Msg, "hunter2") || strings.Contains(pe.Msg, "\n") {
			t.Errorf("Parse(%q): message shows a secret or spans lines: %q", raw, pe.Msg)
		}
	}
}

func TestMask(t *testing.T) {
	cases := map[string]string{
		"https://user:pass@host.example/path?token=abc":    "https://user:***@host.example/path?token=***",
		"https://tokenonly@host.example/":                  "https://***@host.example/",
		"https://host.example/p?a=1&b=&flag":               "https://host.example/p?a=***&b=***&***",
		"syslog+tls://host.example:6514":                   "syslog+tls://host.example:6514",
		"https://host.example/x#secret":                    "https://host.example/x#***",
		"https://u:p%40ss@host.example/a%2Fb":              "https://u:***@host.example/a%2Fb",
		"https://u:pw@host.example/\x00":                   "https://***",
		"not a url at all hunter2":                         "***",
		"https://u:hunter2@[::1":                           "https://***",
		"syslog://[::1]:514":                               "syslog://[::1]:514",
		"HTTPS://USER:PW@HOST.EXAMPLE/?TOKEN=x":            "https://USER:***@HOST.EXAMPLE/?TOKEN=***",
		"https://u:pw@host.example/?token=a%26b&x=y%3Dz=w": "https://u:***@host.example/?token=***&x=***",
	}
	for raw, want := range cases {
		if got := Mask(raw); got != want {
			t.Errorf("Mask(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	tg, err := Parse("https://alice:hunter22@x.example/in?token=t%2Bk3n")
	if err != nil {
		t.Fatal(err)
	}
	msg := tg.Scrub("Post \"https://alice:hunter22@x.example/in?token=t%2Bk3n\": refused\nsaw t+k3n and hunter22")
	if msg != "Post \"https://alice:***@x.example/in?token=***\": refused saw *** and ***" {
		t.Fatalf("scrubbed %q", msg)
	}
}

func TestFrame(t *testing.T) {
	l := logs.Line{
		Time:   time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.FixedZone("x", 3600)),
		App:    "blog",
		Source: logs.SourceApp,
		Proc:   "we b.1\xff",
		Text:   "héllo wörld",
	}
	b := appendFrame(nil, l, "d.tok")
	want := "<14>1 2026-11-26T09:00:00.123456Z d.tok blog we_b.1_ app - héllo wörld"
	if string(b) != "72 "+want || len(want) != 72 {
		t.Fatalf("frame %q (%d)", b, len(want))
	}
	l.Proc, l.Source, l.Text = "", logs.SourcePaas, ""
	m, err := parseMessage(string(appendFrame(nil, l, "d.tok"))[3:])
	if err != nil || m.ProcID != "-" || m.Pri != 134 || m.Text != "" {
		t.Fatalf("empty fields: %+v %v", m, err)
	}
}
