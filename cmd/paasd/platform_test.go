package main

import (
	"context"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"paas/builder"
	"paas/certs"
	"paas/deploy"
	"paas/drains"
	"paas/internal/tlstest"
	"paas/logs"
	"paas/router"
	"paas/runtime"
	"paas/store"
)

// newTestPlatform composes the platform as paasd does, over a real store,
// router, exec runtime and builder, with ACME off.
func newTestPlatform(t *testing.T) platform {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	agg := logs.New(100)
	rtr := router.New(router.Config{Domain: "localhost"})
	var svc *deploy.Service
	rt := runtime.NewExec(runtime.ExecConfig{Logs: agg, OnExit: func(e runtime.Exit) { svc.OnExit(e) }})
	bld, err := builder.New(builder.Config{
		BuildpacksDir: filepath.Join(dir, "buildpacks"),
		CacheDir:      filepath.Join(dir, "cache"),
		SlugsDir:      filepath.Join(dir, "slugs"),
	})
	if err != nil {
		t.Fatal(err)
	}
	svc = deploy.New(deploy.Config{Store: st, Runtime: rt, Builder: bld, Router: rtr, Logs: agg, Domain: "localhost"})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Shutdown(ctx)
	})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	dr := drains.New(drains.Config{Logs: agg, Store: drainStore{st, slog.New(slog.DiscardHandler)}})
	if err := dr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dr.Close)
	cm, err := certs.New(certs.Config{
		Store:   st,
		Allowed: func(host string) bool { _, ok := rtr.AppFor(host); return ok },
		AppFor:  rtr.AppFor,
		HostsOf: rtr.Hosts,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cm.Close)
	return platform{Service: svc, certs: cm, drains: dr}
}

// sources lists each Cert's first host and source.
func sources(t *testing.T, p platform, app string) map[string]string {
	t.Helper()
	list, err := p.Certs(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list {
		out[c.Hosts[0]] = c.Source
	}
	return out
}

// TestDestroyAppRemovesUserCertificates destroys an app with a certificate
// of its own and another app's; an app made again under the same name
// finds none, the other app keeps its own.
func TestDestroyAppRemovesUserCertificates(t *testing.T) {
	p := newTestPlatform(t)
	ctx := context.Background()
	for app, host := range map[string]string{"shop": "www.shop.test", "blog": "www.blog.test"} {
		if _, err := p.CreateApp(ctx, app, "tester"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.AddDomain(ctx, app, host); err != nil {
			t.Fatal(err)
		}
		c, k, _ := tlstest.SelfSigned(t, "platform test", []string{host}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		if _, err := p.AddCert(ctx, app, c, k); err != nil {
			t.Fatal(err)
		}
		if got := sources(t, p, app)[host]; got != certs.SourceUser {
			t.Fatalf("%s is served by %q, want the user's certificate", host, got)
		}
	}

	if err := p.DestroyApp(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateApp(ctx, "shop", "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddDomain(ctx, "shop", "www.shop.test"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"shop.localhost": certs.SourceLocal, "www.shop.test": certs.SourceNone}
	if got := sources(t, p, "shop"); !maps.Equal(got, want) {
		t.Errorf("the new shop's certificates: %v, want %v (the destroyed app's certificate gone)", got, want)
	}
	if got := sources(t, p, "blog")["www.blog.test"]; got != certs.SourceUser {
		t.Errorf("blog's own certificate: %q after destroying shop", got)
	}
}
