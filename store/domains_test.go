package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"paas"
)

func TestDomains(t *testing.T) {
	s, path := open(t)
	for _, a := range []string{"blog", "shop"} {
		if _, err := s.CreateApp(a, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"www.example.com", "*.example.org", "a.example.com"} {
		if _, err := s.AddDomain("blog", h); err != nil {
			t.Fatalf("adding %s: %v", h, err)
		}
	}
	app, err := s.App("blog")
	if err != nil || !slices.Equal(app.Domains, []string{"*.example.org", "a.example.com", "www.example.com"}) {
		t.Fatalf("blog domains = %v, %v", app.Domains, err)
	}

	// A host has one owner; the error names it.
	_, err = s.AddDomain("shop", "www.example.com")
	var pe *paas.Error
	if !errors.As(err, &pe) || pe.Msg != "www.example.com is already a domain of app blog" {
		t.Fatalf("taken host: %v", err)
	}
	_, err = s.AddDomain("blog", "www.example.com")
	if !errors.As(err, &pe) || pe.Msg != "www.example.com is already a domain of blog" {
		t.Fatalf("own host again: %v", err)
	}
	if _, err := s.AddDomain("nope", "x.example.com"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	if owner, ok, err := s.DomainOwner("x.example.com"); ok || err != nil {
		t.Fatalf("host of an unknown app was kept: %q %v", owner, err)
	}
	if owner, ok, err := s.DomainOwner("www.example.com"); !ok || owner != "blog" || err != nil {
		t.Fatalf("owner = %q %v %v", owner, ok, err)
	}

	// Removing: only a host the app has.
	_, err = s.RemoveDomain("shop", "www.example.com")
	if !errors.As(err, &pe) || pe.Msg != "www.example.com is not a domain of shop" {
		t.Fatalf("removing another app's host: %v", err)
	}
	if app, err = s.RemoveDomain("blog", "a.example.com"); err != nil || !slices.Equal(app.Domains, []string{"*.example.org", "www.example.com"}) {
		t.Fatalf("after remove: %v, %v", app.Domains, err)
	}
	if _, err := s.AddDomain("shop", "a.example.com"); err != nil {
		t.Fatalf("a freed host: %v", err)
	}

	// The state survives a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	if owner, _, _ := s2.DomainOwner("a.example.com"); owner != "shop" {
		t.Fatalf("after reopen: a.example.com belongs to %q", owner)
	}

	// Destroying an app frees its hosts.
	if err := s2.DeleteApp("blog"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"www.example.com", "*.example.org"} {
		if owner, ok, _ := s2.DomainOwner(h); ok {
			t.Fatalf("%s still belongs to %s", h, owner)
		}
	}
	if app, err := s2.AddDomain("shop", "www.example.com"); err != nil || !slices.Equal(app.Domains, []string{"a.example.com", "www.example.com"}) {
		t.Fatalf("after destroy: %v, %v", app.Domains, err)
	}
	if _, err := s2.CreateApp("blog", "alice"); err != nil {
		t.Fatal(err)
	}
	if app, _ := s2.App("blog"); len(app.Domains) != 0 {
		t.Fatalf("a new app of the same name inherited %v", app.Domains)
	}
}

// TestDomainRace has many apps race for the same hosts: each host ends
// up with exactly one owner, which lists it.
func TestDomainRace(t *testing.T) {
	s, _ := open(t)
	const apps, hosts = 8, 20
	for i := range apps {
		if _, err := s.CreateApp(fmt.Sprintf("app%d", i), "t"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range hosts {
				host := fmt.Sprintf("h%d.example.com", h)
				_, err := s.AddDomain(fmt.Sprintf("app%d", i), host)
				if err != nil && !strings.Contains(err.Error(), "is already a domain of app") {
					t.Errorf("adding %s: %v", host, err)
				}
			}
		}()
	}
	wg.Wait()
	all, err := s.Apps()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, a := range all {
		for _, h := range a.Domains {
			if other, dup := seen[h]; dup {
				t.Fatalf("%s belongs to %s and %s", h, other, a.Name)
			}
			seen[h] = a.Name
			if owner, _, _ := s.DomainOwner(h); owner != a.Name {
				t.Fatalf("%s listed by %s but owned by %q", h, a.Name, owner)
			}
		}
	}
	if len(seen) != hosts {
		t.Fatalf("%d hosts have an owner, want %d", len(seen), hosts)
	}
}

func TestUpdateProxy(t *testing.T) {
	s, _ := open(t)
	if _, err := s.CreateApp("blog", "t"); err != nil {
		t.Fatal(err)
	}
	app, err := s.UpdateProxy("blog", func(p *paas.ProxySettings) error {
		p.HSTS, p.MaxBody = true, 1<<20
		return nil
	})
	if err != nil || !app.Proxy.HSTS || app.Proxy.MaxBody != 1<<20 {
		t.Fatalf("update: %+v, %v", app.Proxy, err)
	}
	// A failing change saves nothing, even what it changed before failing.
	_, err = s.UpdateProxy("blog", func(p *paas.ProxySettings) error {
		p.ConnectTimeout = time.Second
		return paas.Errorf("bad")
	})
	if err == nil {
		t.Fatal("failing change succeeded")
	}
	if app, _ := s.App("blog"); app.Proxy != (paas.ProxySettings{HSTS: true, MaxBody: 1 << 20}) {
		t.Fatalf("after a failed change: %+v", app.Proxy)
	}
	if _, err := s.UpdateProxy("nope", func(*paas.ProxySettings) error { return nil }); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
}
