package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/certs"
	"paas/internal/tlstest"
)

// TestCertForWildcardDomain adds certificates for an app served through
// a wildcard domain: one for a name under it and one for the wildcard
// are the app's own; a name another app serves, or no app, is refused.
func TestCertForWildcardDomain(t *testing.T) {
	p := newTestPlatform(t)
	ctx := context.Background()
	for app, host := range map[string]string{"wshop": "*.wshop.test", "wblog": "blog.wshop.test"} {
		if _, err := p.CreateApp(ctx, app, "tester"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.AddDomain(ctx, app, host); err != nil {
			t.Fatal(err)
		}
	}
	add := func(name string) error {
		c, k, _ := tlstest.SelfSigned(t, "platform test", []string{name}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		_, err := p.AddCert(ctx, "wshop", c, k)
		return err
	}
	for _, name := range []string{"a.wshop.test", "*.wshop.test"} {
		if err := add(name); err != nil {
			t.Errorf("a certificate for %s: %v", name, err)
		}
	}
	list, err := p.Certs(ctx, "wshop")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range list {
		got[strings.Join(c.Hosts, ",")] = c.Source
	}
	if got["*.wshop.test"] != certs.SourceUser || got["a.wshop.test"] != certs.SourceUser {
		t.Errorf("certificates of wshop: %v, want the user's for *.wshop.test and a.wshop.test", got)
	}
	for _, name := range []string{"blog.wshop.test", "a.b.wshop.test", "other.test"} {
		err := add(name)
		if msg, ok := paas.UserMessage(err); !ok || !strings.Contains(msg, "not a host of wshop") {
			t.Errorf("a certificate for %s: %v, want it refused", name, err)
		}
	}
}
