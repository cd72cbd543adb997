package gateway

import (
	"context"
	"strings"
	"testing"

	"paas"
)

// TestDomainCommands walks domains, domains:add and domains:remove: the
// listing starts with the default host, hosts are normalised, a host has
// one owner, and errors are one line.
func TestDomainCommands(t *testing.T) {
	s, f := newTestServer(t)
	f.CreateApp(context.Background(), "blog", "alice")

	steps := []struct {
		args   []string
		status int
		stdout string
		stderr string
	}{
		{[]string{"domains", "web-app"}, 0, "HOST                  TYPE\nweb-app.example.test  default\n", ""},
		{[]string{"domains:add", "web-app", "WWW.Example.com."}, 0, "Added www.example.com to web-app\n", ""},
		{[]string{"domains:add", "web-app", "bücher.example"}, 0, "Added xn--bcher-kva.example (bücher.example) to web-app\n", ""},
		{[]string{"domains:add", "web-app", "*.wild.example"}, 0, "Added *.wild.example to web-app\n", ""},
		{[]string{"domains", "web-app"}, 0, "HOST                   TYPE\nweb-app.example.test   default\n*.wild.example         custom\nwww.example.com        custom\nxn--bcher-kva.example  custom\n", ""},
		{[]string{"domains:add", "blog", "www.example.com"}, 1, "", "www.example.com is already a domain of app web-app\n"},
		{[]string{"domains:add", "web-app", "www.example.com"}, 1, "", "www.example.com is already a domain of web-app\n"},
		{[]string{"domains:add", "web-app", "example.com:8080"}, 1, "", "leave out the port"},
		{[]string{"domains:add", "web-app", "10.0.0.1"}, 1, "", "IP addresses cannot be domains"},
		{[]string{"domains:add", "web-app", "*.com"}, 1, "", "at least two labels after it"},
		{[]string{"domains:add", "web-app"}, 1, "", "usage: domains:add APP HOST\n"},
		{[]string{"domains:add", "web-app", "a.example", "b.example"}, 1, "", "usage: domains:add APP HOST\n"},
		{[]string{"domains:add", "nope", "a.example"}, 1, "", "app nope not found\n"},
		{[]string{"domains:remove", "web-app", "nope.example.com"}, 1, "", "nope.example.com is not a domain of web-app\n"},
		{[]string{"domains:remove", "blog", "www.example.com"}, 1, "", "www.example.com is not a domain of blog\n"},
		{[]string{"domains:remove", "web-app", "WWW.EXAMPLE.COM"}, 0, "Removed www.example.com from web-app\n", ""},
		{[]string{"domains:add", "blog", "www.example.com"}, 0, "Added www.example.com to blog\n", ""},
		{[]string{"domains", "blog"}, 0, "HOST               TYPE\nblog.example.test  default\nwww.example.com    custom\n", ""},
		{[]string{"domains", "web-app", "extra"}, 1, "", "usage: domains APP\n"},
	}
	for _, st := range steps {
		r := run(s, st.args...)
		if r.status != st.status || r.stdout != st.stdout || !strings.Contains(r.stderr, st.stderr) || strings.Count(r.stderr, "\n") > 1 {
			t.Fatalf("%q: status %d stdout %q stderr %q; want %d %q %q", st.args, r.status, r.stdout, r.stderr, st.status, st.stdout, st.stderr)
		}
	}
	if r := run(s, "apps:info", "blog"); !strings.Contains(r.stdout, "domains:    www.example.com\n") || strings.Contains(r.stdout, "default domain") {
		t.Fatalf("apps:info:\n%s", r.stdout)
	}

	// Without the default host, only custom domains are listed; with none
	// at all, stdout stays empty and stderr says why.
	if r := run(s, "proxy:set", "blog", "default-domain=false"); r.status != 0 {
		t.Fatalf("proxy:set: %+v", r)
	}
	if r := run(s, "domains", "blog"); r.status != 0 || r.stdout != "HOST             TYPE\nwww.example.com  custom\n" {
		t.Fatalf("domains without the default: %+v", r)
	}
	run(s, "domains:remove", "blog", "www.example.com")
	if r := run(s, "domains", "blog"); r.status != 0 || r.stdout != "" || !strings.Contains(r.stderr, "blog has no hosts") {
		t.Fatalf("domains with none: %+v", r)
	}
	if r := run(s, "apps:info", "blog"); strings.Contains(r.stdout, "domains:") || !strings.Contains(r.stdout, "default domain:  off\n") {
		t.Fatalf("apps:info lists domains it has not:\n%s", r.stdout)
	}
}

func TestProxyCommands(t *testing.T) {
	s, f := newTestServer(t)
	defaults := "https-redirect=false\nhsts=false\ndefault-domain=true\nmax-body=default\nconnect-timeout=default\nresponse-timeout=default\n"
	if r := run(s, "proxy", "web-app"); r.status != 0 || r.stdout != defaults {
		t.Fatalf("proxy: %+v", r)
	}
	r := run(s, "proxy:set", "web-app", "hsts=true", "max-body=10m", "response-timeout=90", "default-domain=false")
	want := "https-redirect=false\nhsts=true\ndefault-domain=false\nmax-body=10m\nconnect-timeout=default\nresponse-timeout=1m30s\n"
	if r.status != 0 || r.stdout != want {
		t.Fatalf("proxy:set: %+v", r)
	}
	if r := run(s, "proxy", "web-app"); r.stdout != want {
		t.Fatalf("proxy after set:\n%s", r.stdout)
	}
	if a, _ := f.App(context.Background(), "web-app"); !a.Proxy.NoDefaultDomain || a.Proxy.MaxBody != 10<<20 {
		t.Fatalf("stored settings: %+v", a.Proxy)
	}

	// Bad input: one line naming what is valid, and nothing changes, not
	// even the good pairs given with it.
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"proxy:set", "web-app"}, "usage: proxy:set APP KEY=VALUE..."},
		{[]string{"proxy:set", "web-app", "hsts=false", "gzip=on"}, `unknown proxy setting "gzip": use https-redirect, hsts, default-domain, max-body, connect-timeout, response-timeout`},
		{[]string{"proxy:set", "web-app", "hsts=false", "max-body=0"}, `invalid max-body "0"`},
		{[]string{"proxy:set", "web-app", "hsts=false", "connect-timeout=2h"}, `invalid connect-timeout "2h"`},
		{[]string{"proxy:set", "web-app", "hsts=perhaps"}, `invalid hsts "perhaps": use true or false`},
		{[]string{"proxy:set", "web-app", "hsts"}, `invalid setting "hsts": use KEY=VALUE`},
		{[]string{"proxy:set", "web-app", "hsts=false", "hsts=true"}, "hsts is given twice"},
		{[]string{"proxy:set", "nope", "hsts=false"}, "app nope not found"},
		{[]string{"proxy", "web-app", "x"}, "usage: proxy APP"},
	}
	for _, b := range bad {
		r := run(s, b.args...)
		if r.status == 0 || r.stdout != "" || !strings.Contains(r.stderr, b.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: status %d stdout %q stderr %q; want one line containing %q", b.args, r.status, r.stdout, r.stderr, b.want)
		}
	}
	if r := run(s, "proxy", "web-app"); r.stdout != want {
		t.Fatalf("bad input changed the settings:\n%s", r.stdout)
	}

	// Empty values restore the defaults; the shown lines can be given back.
	if r := run(s, "proxy:set", "web-app", "hsts=", "max-body=", "response-timeout=", "default-domain="); r.status != 0 || r.stdout != defaults {
		t.Fatalf("reset: %+v", r)
	}
	if r := run(s, append([]string{"proxy:set", "web-app"}, strings.Fields(defaults)...)...); r.status != 0 || r.stdout != defaults {
		t.Fatalf("round trip: %+v", r)
	}
	if a, _ := f.App(context.Background(), "web-app"); a.Proxy != (paas.ProxySettings{}) {
		t.Fatalf("after reset: %+v", a.Proxy)
	}
}
