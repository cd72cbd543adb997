package main

import (
	"fmt"
	"io"
	"os/exec"
	"time"
)

// target is a server wrk drives: the backend itself or a proxy in front
// of it.
type target struct {
	name    string
	note    string
	p       *proc
	pids    []int // processes whose CPU time and memory are measured; none for the backend
	idleRSS int64
}

// startTargets starts the router, with metrics off and on, and every
// proxy in front of backend (only the router when metricsOnly). nginx and
// HAProxy are required; Caddy and kamal-proxy are measured when they are
// on PATH, and skipped with a line on w when not.
func startTargets(w io.Writer, root string, backend *proc, metricsOnly bool) ([]*target, error) {
	ts := []*target{{name: "direct", note: "the backend, no proxy", p: backend}}
	stopAll := func() {
		for _, t := range ts[1:] {
			t.p.stop()
		}
	}
	add := func(name, note string, p *proc, err error) error {
		if err != nil {
			stopAll()
			return fmt.Errorf("starting %s: %w", name, err)
		}
		ts = append(ts, &target{name: name, note: note, p: p})
		return nil
	}
	p, err := startSelf("router", "-backend", backend.addr)
	if err := add("router", "paas's router as paasd serves HTTP (router.NewFront: the fast path), access lines dropped", p, err); err != nil {
		return nil, err
	}
	p, err = startSelf("router", "-backend", backend.addr, "-metrics")
	if err := add("router-metrics", "router, each request recorded in a metrics registry (requests, status class, latency) as paasd does", p, err); err != nil {
		return nil, err
	}
	if metricsOnly {
		return settle(ts), nil
	}
	p, err = startSelf("router", "-backend", backend.addr, "-general")
	if err := add("router-general", "paas's router, general path only (router.NewServer: net/http + ReverseProxy)", p, err); err != nil {
		return nil, err
	}
	p, err = startNginx(root, "nginx", backend.addr, true, false)
	if err := add("nginx", "nginx, upstream keepalive 256, HTTP/1.1 to the backend", p, err); err != nil {
		return nil, err
	}
	p, err = startNginx(root, "nginx-headers", backend.addr, true, true)
	if err := add("nginx-headers", "nginx, as above, also sending the router's X-Forwarded-Host, X-Request-Id ($request_id) and Via", p, err); err != nil {
		return nil, err
	}
	p, err = startNginx(root, "nginx-nokeepalive", backend.addr, false, false)
	if err := add("nginx-nokeepalive", "nginx, HTTP/1.0 to the backend, a connection per request (Dokku/CapRover default)", p, err); err != nil {
		return nil, err
	}
	p, err = startHAProxy(root, backend.addr)
	if err := add("haproxy", "HAProxy, http mode, http-reuse always", p, err); err != nil {
		return nil, err
	}
	for _, model := range []string{"goroutine", "epoll"} {
		p, err = startSelf("pipe", "-backend", backend.addr, "-model", model)
		if err := add("pipe-"+model, pipeNotes[model], p, err); err != nil {
			return nil, err
		}
	}
	optional := []struct {
		name, bin, note string
		start           func(root, backend string) (*proc, error)
	}{
		{"caddy", "caddy", "Caddy, reverse_proxy with its defaults", startCaddy},
		{"kamal-proxy", "kamal-proxy", "kamal-proxy, deployed service, its request log on", startKamalProxy},
	}
	for _, o := range optional {
		if _, err := exec.LookPath(o.bin); err != nil {
			fmt.Fprintf(w, "%s: not on PATH, skipped\n", o.name)
			continue
		}
		p, err := o.start(root, backend.addr)
		if err := add(o.name, o.note, p, err); err != nil {
			return nil, err
		}
	}
	return settle(ts), nil
}

// pipeNotes describe the pipe targets (pipe.go).
var pipeNotes = map[string]string{
	"goroutine": "a floor, not a proxy: bytes passed as they come, an upstream connection per client, a goroutine per connection (Go's net)",
	"epoll":     "the same floor on raw epoll: an event loop per core, edge-triggered, as nginx waits",
}

// settle finds each proxy's processes and its resident memory idle.
func settle(ts []*target) []*target {
	for _, t := range ts[1:] {
		t.pids = settledTree(t.p.pid())
		t.idleRSS = sumUsage(t.pids).rss
	}
	return ts
}

// settledTree returns pid's process tree once it has stopped growing
// (nginx forks its workers after it listens): the same size over four
// looks 50ms apart, or whatever it is after two seconds.
func settledTree(pid int) []int {
	pids := tree(pid)
	deadline := time.Now().Add(2 * time.Second)
	for same := 0; same < 4 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		next := tree(pid)
		if len(next) == len(pids) {
			same++
		} else {
			same = 0
		}
		pids = next
	}
	return pids
}

// stopTargets stops the proxies (not the backend, ts[0]).
func stopTargets(ts []*target) {
	for _, t := range ts[1:] {
		t.p.stop()
	}
}
