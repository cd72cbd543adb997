package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"paas/metrics"
	"paas/router"
)

// benchHost is the Host header every request carries: app "bench" under
// the platform domain "localhost".
const benchHost = "bench.localhost"

// runRouter is the router role: paas's router built as paasd builds it,
// app "bench" on backend, served on a free loopback port as paasd serves
// its HTTP listener (router.NewFront: the fast path, which hands unusual
// requests to the general one), or with general set by the general path
// alone (router.NewServer: net/http and httputil.ReverseProxy). paasd hands each access-log line to its in-memory log aggregator;
// here the lines are dropped. It prints its address on stdout and serves
// until SIGTERM or SIGINT; with cpuProfile set it profiles from start to
// stop and writes the profile there. With withMetrics it records every
// request in a metrics registry, as paasd does.
func runRouter(backend, cpuProfile string, general, withMetrics bool) error {
	if backend == "" {
		return fmt.Errorf("router role: -backend is required")
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("creating profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("starting profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	cfg := router.Config{
		Domain:    "localhost",
		AccessLog: func(app, line string) {},
	}
	if withMetrics {
		cfg.Observe = metrics.NewRegistry(nil).Request
	}
	r := router.New(cfg)
	r.Set("bench", []router.Backend{{Name: "web.1", Addr: backend}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	// paasd caps each client's connections (PAAS_MAX_CONNS_PER_CLIENT,
	// 1000 by default), so its router serves connections wrapped by the
	// cap's listener; so does this one.
	ln = router.ClientCap{Max: 1000}.Listener(ln)
	var srv interface {
		Serve(net.Listener) error
		Close() error
	}
	if general {
		srv = router.NewServer(ln.Addr().String(), r)
	} else {
		srv = router.NewFront(r, router.ServerLimits{}, r)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintln(os.Stdout, ln.Addr().String())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
		srv.Close()
		r.Close()
		return nil
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	}
}
