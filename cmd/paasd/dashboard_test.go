package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"paas/dashboard"
	"paas/store"
)

// dashTestStore is a store of the test's own.
func dashTestStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestDashboardHostSetting(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "dashboard.localhost"},
		{map[string]string{"PAAS_DOMAIN": "Apps.Example.COM."}, "dashboard.apps.example.com"},
		{map[string]string{"PAAS_DOMAIN": "example.com", "PAAS_DASHBOARD_HOST": "UI.Example.com."}, "ui.example.com"},
		{map[string]string{"PAAS_DASHBOARD_HOST": "off"}, ""},
	} {
		c, err := load(tc.env)
		if err != nil || c.DashboardHost != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.env, c.DashboardHost, err, tc.want)
		}
	}
	for _, bad := range []string{"*.example.com", "example.com:8443", "https://ui.example.com", "a b"} {
		if _, err := load(map[string]string{"PAAS_DASHBOARD_HOST": bad}); err == nil || !strings.HasPrefix(err.Error(), "PAAS_DASHBOARD_HOST: ") {
			t.Errorf("%q: %v, want one line about PAAS_DASHBOARD_HOST", bad, err)
		}
	}
}

// TestDashboardKeepsAnAppsHost: an app that has the dashboard's host
// (one named dashboard from before the name was reserved) keeps it; the
// dashboard takes paas-HOST and says so in the log.
func TestDashboardKeepsAnAppsHost(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	cfg := config{Domain: "localhost", DashboardHost: "dashboard.localhost"}
	routed := map[string]string{"dashboard.localhost": "dashboard"}
	appFor := func(host string) (string, bool) { a, ok := routed[host]; return a, ok }

	d := &dashboardSite{}
	h, err := dashboard.New(dashboard.Config{Platform: platform{}, Sessions: dashTestStore(t), HTTPSPort: 443})
	if err != nil {
		t.Fatal(err)
	}
	d.h = h
	d.pickHost(cfg, appFor, log)
	if got := h.Host(); got != "paas-dashboard.localhost" {
		t.Errorf("host %q, want paas-dashboard.localhost", got)
	}
	if !d.serves("paas-dashboard.localhost") || d.serves("dashboard.localhost") {
		t.Error("serves the wrong host")
	}
	if !strings.Contains(logBuf.String(), "dashboard_host=paas-dashboard.localhost") || !strings.Contains(logBuf.String(), "app=dashboard") {
		t.Errorf("log:\n%s", logBuf.String())
	}
	// Nothing has the host: the dashboard takes it.
	logBuf.Reset()
	d.pickHost(cfg, func(string) (string, bool) { return "", false }, log)
	if h.Host() != "dashboard.localhost" || strings.Contains(logBuf.String(), "WARN") {
		t.Errorf("free host: %q\n%s", h.Host(), logBuf.String())
	}
	// The dashboard off: nothing is served, dashboard:url says so.
	off := &dashboardSite{}
	off.pickHost(config{}, appFor, log)
	if off.serves("dashboard.localhost") || off.tokens() != nil {
		t.Error("an off dashboard serves")
	}
}

// TestAppsCannotTakeTheDashboardsHost: domains:add of the dashboard's
// host, or of a wildcard covering it, is refused before the platform is
// asked.
func TestAppsCannotTakeTheDashboardsHost(t *testing.T) {
	h, err := dashboard.New(dashboard.Config{Platform: platform{}, Sessions: dashTestStore(t), HTTPSPort: 443})
	if err != nil {
		t.Fatal(err)
	}
	h.SetHost("ui.example.com")
	p := dashPlatform{site: &dashboardSite{h: h}}
	for _, host := range []string{"ui.example.com", "UI.Example.com.", "*.example.com"} {
		if _, err := p.AddDomain(context.Background(), "shop", host); err == nil || !strings.Contains(err.Error(), "dashboard's host ui.example.com") {
			t.Errorf("%s: %v", host, err)
		}
	}
}

// TestAppsCannotTakeTheDashboardsDefaultHost: with the dashboard at a
// host directly below PAAS_DOMAIN, no new app may be named after it (nor
// after the host it falls back to), by apps:create, a first push or
// apps:rename.
func TestAppsCannotTakeTheDashboardsDefaultHost(t *testing.T) {
	h, err := dashboard.New(dashboard.Config{Platform: platform{}, Sessions: dashTestStore(t), HTTPSPort: 443})
	if err != nil {
		t.Fatal(err)
	}
	h.SetHost("paas-ops.example.com")
	p := dashPlatform{site: &dashboardSite{h: h, wanted: "ops.example.com", domain: "example.com"}}
	ctx := context.Background()
	for _, name := range []string{"ops", "paas-ops"} {
		if _, err := p.CreateApp(ctx, name, "alice"); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("apps:create %s: %v", name, err)
		}
		if err := p.RenameApp(ctx, "shop", name, "alice", io.Discard); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("apps:rename shop %s: %v", name, err)
		}
	}
	if p.takes("shop") || p.takes("ops-2") {
		t.Error("other names are taken")
	}
}
