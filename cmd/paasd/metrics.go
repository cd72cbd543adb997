package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"paas"
	"paas/deploy"
	"paas/gateway"
	"paas/metrics"
	"paas/runtime"
	"paas/store"
)

// platformMetrics is what paasd measures: the registry the router, the
// runtime's sampler, the pipeline, the gateway, the logs and the drains
// feed, and the /metrics listener (PAAS_METRICS_ADDR) that serves it.
type platformMetrics struct {
	reg  *metrics.Registry
	addr string
	log  *slog.Logger
	srv  *http.Server
}

// newPlatformMetrics returns paasd's metrics; /metrics is served by start.
func newPlatformMetrics(cfg config, log *slog.Logger) *platformMetrics {
	return &platformMetrics{reg: metrics.NewRegistry(nil), addr: cfg.MetricsAddr, log: log.With("part", "metrics")}
}

// dropped counts log lines a drain lost.
func (m *platformMetrics) dropped(n uint64) { m.reg.Add(metrics.DrainDrops, n) }

// observer is what deploy tells of builds, releases and restarts.
func (m *platformMetrics) observer() deploy.Observer { return deployObserver{m.reg} }

// audit wraps the gateway's audit log, counting the sessions it records.
func (m *platformMetrics) audit(a gateway.AuditLog) gateway.AuditLog {
	return countedAudit{AuditLog: a, reg: m.reg}
}

// start marks the releases of the last day that the store knows of on
// the charts, samples the instances of rt until ctx ends, and serves
// /metrics when an address is set. A paasd taking over from a running one
// (takingOver) waits for that one to free the address.
func (m *platformMetrics) start(ctx context.Context, st *store.Store, rt deploy.Runtime, lines func() uint64, takingOver bool) error {
	m.reg.CountFrom(metrics.LogLines, lines)
	m.markReleases(st)
	if u, ok := rt.(usageReader); ok {
		go metrics.NewSampler(m.reg, runtimeUsage{u}, m.log).Run(ctx)
	}
	if m.addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.reg.Handler())
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	ln, err := net.Listen("tcp", m.addr)
	if err == nil {
		go m.serve(ln)
		return nil
	}
	if !takingOver || !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listening for /metrics (PAAS_METRICS_ADDR): %w", err)
	}
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if ln, err := net.Listen("tcp", m.addr); err == nil {
				m.serve(ln)
				return
			}
		}
	}()
	return nil
}

// serve serves /metrics on ln until shutdown.
func (m *platformMetrics) serve(ln net.Listener) {
	m.log.Info("serving /metrics", "addr", ln.Addr().String())
	if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		m.log.Error("serving /metrics", "err", err)
	}
}

// shutdown stops serving /metrics.
func (m *platformMetrics) shutdown(ctx context.Context) {
	if m.srv != nil {
		m.srv.Shutdown(ctx)
	}
}

// markReleases marks on the charts the releases of the last Retention
// that went live, as a restarted paasd would otherwise show none.
func (m *platformMetrics) markReleases(st *store.Store) {
	apps, err := st.Apps()
	if err != nil {
		m.log.Warn("reading apps for their release marks", "err", err)
		return
	}
	since := time.Now().Add(-metrics.Retention)
	for _, a := range apps {
		rels, err := st.Releases(a.Name)
		if err != nil {
			continue
		}
		for _, rel := range rels {
			if rel.CreatedAt.After(since) && rel.Status != paas.StatusFailed && rel.Status != paas.StatusPending {
				m.reg.Release(a.Name, rel.Version, rel.CreatedAt)
			}
		}
	}
}

// deployObserver counts and marks what deploy tells of.
type deployObserver struct{ reg *metrics.Registry }

func (o deployObserver) BuildStarted(string) { o.reg.Add(metrics.Builds, 1) }
func (o deployObserver) BuildFailed(string)  { o.reg.Add(metrics.DeployFailures, 1) }
func (o deployObserver) ReleaseLive(app string, version int, at time.Time) {
	o.reg.Add(metrics.Deploys, 1)
	o.reg.Release(app, version, at)
}
func (o deployObserver) ReleaseFailed(string, int)  { o.reg.Add(metrics.DeployFailures, 1) }
func (o deployObserver) Restarted(string, string)   { o.reg.Add(metrics.Restarts, 1) }
func (o deployObserver) AppDestroyed(app string)    { o.reg.Forget(app) }
func (o deployObserver) AppRenamed(old, new string) { o.reg.Rename(old, new) }

// countedAudit is an audit log that counts the sessions it records.
type countedAudit struct {
	gateway.AuditLog
	reg *metrics.Registry
}

// Record counts a session and records it.
func (a countedAudit) Record(e paas.AuditEntry) error {
	a.reg.Add(metrics.SSHSessions, 1)
	return a.AuditLog.Record(e)
}

// usageReader is what both runtimes report of their instances' use.
type usageReader interface {
	Usage(ctx context.Context, app string) ([]runtime.Usage, error)
}

// runtimeUsage is a runtime as the sampler's source.
type runtimeUsage struct{ rt usageReader }

// Usage reads every running instance's use.
func (r runtimeUsage) Usage(ctx context.Context) ([]metrics.Usage, error) {
	us, err := r.rt.Usage(ctx, "")
	out := make([]metrics.Usage, 0, len(us))
	for _, u := range us {
		out = append(out, metrics.Usage{
			ID: u.Instance.ID, App: u.Instance.App, Instance: u.Instance.Name(),
			CPU: u.CPU, Memory: u.Memory,
		})
	}
	return out, err
}

// checkMetricsAddr reads PAAS_METRICS_ADDR: empty or "off" for none,
// else HOST:PORT (an empty host listens on every address).
func checkMetricsAddr(addr *string) error {
	if *addr == "" || *addr == "off" {
		*addr = ""
		return nil
	}
	_, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("PAAS_METRICS_ADDR: want HOST:PORT (such as 127.0.0.1:9100) or off, not %q", *addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("PAAS_METRICS_ADDR: %q has no valid port", *addr)
	}
	return nil
}
