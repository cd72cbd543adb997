package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"paas"
	"paas/dashboard"
	"paas/gateway"
)

// The web dashboard is served by the router's listeners on a host of its
// own (PAAS_DASHBOARD_HOST, default dashboard.DOMAIN), over HTTPS with a
// certificate like an app's; plain HTTP on that host redirects to HTTPS.
// An app that already has that host (an app named dashboard from before
// the name was reserved, or a custom domain) keeps it, and the dashboard
// takes paas-HOST instead, saying so in paasd's log.

// dashboardHost is the dashboard's host from PAAS_DASHBOARD_HOST: ""
// (the default) is dashboard.DOMAIN, "off" none.
func dashboardHost(v, domain string) (string, error) {
	switch v {
	case "off":
		return "", nil
	case "":
		return "dashboard." + domain, nil
	}
	h, err := paas.NormalizeDomain(v)
	if err != nil || strings.HasPrefix(h, "*.") {
		return "", fmt.Errorf("PAAS_DASHBOARD_HOST: %q is not a host name", v)
	}
	return h, nil
}

// dashboardSite wires the dashboard into paasd; its methods do nothing
// when the dashboard is off.
type dashboardSite struct {
	// metrics, when set before setUp, feeds the dashboard's charts;
	// without it the pages say there are no metrics yet.
	metrics dashboard.Metrics
	// sessions, set before setUp, keeps the dashboard's sessions: the
	// store, so that they outlive a restart or a handover.
	sessions dashboard.Sessions
	h        *dashboard.Handler
	progress *dashboard.Progress
	// wanted is the configured host, domain PAAS_DOMAIN: an app whose
	// default host would be either host the dashboard may use is not
	// made.
	wanted, domain string
}

// setUp makes the dashboard and returns the Platform the gateway is to
// use; both use p, with pushes' build output also sent to the dashboard
// and the dashboard's host kept from apps' domains.
func (d *dashboardSite) setUp(cfg config, p platform, audit dashboard.AuditLog, httpsPort int, log *slog.Logger) (gateway.Platform, error) {
	if cfg.DashboardHost == "" {
		return p, nil
	}
	d.progress = dashboard.NewProgress()
	d.wanted, d.domain = cfg.DashboardHost, cfg.Domain
	dp := dashPlatform{platform: p, site: d}
	h, err := dashboard.New(dashboard.Config{
		Platform: dp,
		Sessions: d.sessions,
		Metrics:  d.metrics,
		Audit:    audit,
		Progress: d.progress,
		// A key past its expiry-time= ends its sessions.
		KeyExpired: gateway.KeyExpired,
		HTTPSPort:  httpsPort,
		Logger:     log.With("part", "dashboard"),
	})
	if err != nil {
		return nil, err
	}
	d.h = h
	return dp, nil
}

// pickHost settles the dashboard's host once the routes are known: the
// configured one, unless an app has it.
func (d *dashboardSite) pickHost(cfg config, appFor func(host string) (string, bool), log *slog.Logger) {
	if d.h == nil {
		return
	}
	host := cfg.DashboardHost
	for i := 1; ; i++ {
		app, taken := appFor(host)
		if !taken {
			break
		}
		next := "paas-" + cfg.DashboardHost
		if i > 1 {
			next = fmt.Sprintf("paas-%d-%s", i, cfg.DashboardHost)
		}
		log.Warn("the dashboard's host is an app's: the app keeps it and the dashboard uses another",
			"wanted", host, "app", app, "dashboard_host", next)
		host = next
	}
	d.h.SetHost(host)
	log.Info("dashboard", "host", host)
}

// close ends the dashboard's open event streams.
func (d *dashboardSite) close() {
	if d.h != nil {
		d.h.Close()
	}
}

// serves reports whether host is the dashboard's: it gets a certificate.
func (d *dashboardSite) serves(host string) bool {
	return d.h != nil && d.h.Serves(host)
}

// tokens is what dashboard:url mints with; nil when the dashboard is off.
func (d *dashboardSite) tokens() gateway.DashboardTokens {
	if d.h == nil {
		return nil
	}
	return d.h
}

// wrap sends requests for the dashboard's host to the dashboard, every
// other one to next.
func (d *dashboardSite) wrap(next http.Handler) http.Handler {
	if d.h == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.h.Serves(r.Host) {
			d.h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dashPlatform is the gateway's platform with each push's build output
// also sent to the dashboard as it is written, and the dashboard's host
// kept from apps' custom domains.
type dashPlatform struct {
	platform
	site *dashboardSite
}

// Deploy tees the push's output to the dashboard.
func (p dashPlatform) Deploy(ctx context.Context, req gateway.DeployRequest) error {
	out, done := p.site.progress.Push(req.App, req.Commit, req.Out)
	req.Out = out
	err := p.platform.Deploy(ctx, req)
	done(err)
	return err
}

// AddDomain refuses the dashboard's host, and a wildcard covering it.
func (p dashPlatform) AddDomain(ctx context.Context, app, host string) (string, error) {
	if h, err := paas.NormalizeDomain(host); err == nil {
		own := p.site.h.Host()
		_, parent, _ := strings.Cut(own, ".")
		if h == own || h == "*."+parent {
			return "", paas.Errorf("%s would take the dashboard's host %s: use another domain", h, own)
		}
	}
	return p.platform.AddDomain(ctx, app, host)
}

// takes reports whether an app named name would have the dashboard's
// host (the configured one or the one it uses) as its default host.
func (p dashPlatform) takes(name string) bool {
	if p.site.domain == "" {
		return false
	}
	h := strings.ToLower(name) + "." + p.site.domain
	return h == p.site.wanted || h == p.site.h.Host()
}

// reserved is the answer for such a name.
func reserved(name string) error {
	return paas.Errorf("app name %q is reserved for the platform: choose another", name)
}

// CreateApp refuses a name whose default host is the dashboard's.
func (p dashPlatform) CreateApp(ctx context.Context, name, by string) (paas.App, error) {
	if p.takes(name) {
		return paas.App{}, reserved(name)
	}
	return p.platform.CreateApp(ctx, name, by)
}

// EnsureApp refuses to create an app whose default host is the
// dashboard's; an existing one (which kept its host) is returned.
func (p dashPlatform) EnsureApp(ctx context.Context, name, by string) (paas.App, error) {
	if p.takes(name) {
		if a, err := p.platform.App(ctx, name); err == nil {
			return a, nil
		}
		return paas.App{}, reserved(name)
	}
	return p.platform.EnsureApp(ctx, name, by)
}

// RenameApp refuses a new name whose default host is the dashboard's.
func (p dashPlatform) RenameApp(ctx context.Context, old, new, by string, out io.Writer) error {
	if p.takes(new) {
		return reserved(new)
	}
	return p.platform.RenameApp(ctx, old, new, by, out)
}
