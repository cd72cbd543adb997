package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"paas/bench/internal/wrk"
)

// writeNotes writes what the figures are measured on.
func writeNotes(w io.Writer, s settings, loadBefore, loadAfter string, took time.Duration) {
	fmt.Fprintf(w, "load average %s at start, %s at end; the run took %s\n", loadBefore, loadAfter, took.Round(time.Second))
	if s.note != "" {
		fmt.Fprintf(w, "note: %s\n", s.note)
	}
	fmt.Fprintf(w, "\nsetups, all on this one machine:\n")
	fmt.Fprintf(w, "  swarm, N nodes   PAAS_SCHEDULER=swarm over a test swarm of N Docker engines (internal/swarmtest), each\n")
	fmt.Fprintf(w, "                   in a network namespace of this machine, joined by a bridge: the nodes share its cores\n")
	fmt.Fprintf(w, "                   with paasd, the builds and wrk. The host's engine builds; the nodes pull from paasd's\n")
	fmt.Fprintf(w, "                   registry on the host. Three nodes here show the scheduler's and the network path's\n")
	fmt.Fprintf(w, "                   costs, not three machines' capacity.\n")
	fmt.Fprintf(w, "  local (docker)   PAAS_SCHEDULER=local, PAAS_RUNTIME=docker on the host's engine: the reference\n")
	fmt.Fprintf(w, "app: e2e/testdata/apps/%s; paasd and its router on loopback, a fresh data dir per setup\n", s.app)
}

// writePushes writes the push-to-serving table.
func writePushes(w io.Writer, s settings, rs []setupResult) {
	fmt.Fprintf(w, "\npush to serving: git push start to the new release answering through the router, web=1\n")
	fmt.Fprintf(w, "(the first push cold: empty build cache, empty registry; then %d warm with a changed commit)\n", s.pushes-1)
	fmt.Fprintf(w, "%-16s %8s %8s %10s %14s %10s %16s\n", "setup", "started", "formed", "cold", "warm p50 (n)", "warm max", "new node p50 (n)")
	for _, r := range rs {
		formed := "-"
		if r.formedIn > 0 {
			formed = ms(r.formedIn)
		}
		fmt.Fprintf(w, "%-16s %8s %8s %10s %14s %10s %16s\n", r.setup.Name, ms(r.started), formed, ms(r.push.cold),
			p50n(r.push.warm), maxOf(r.push.warm), p50n(r.push.newNode))
	}
	fmt.Fprintf(w, "started: the engines, the swarm and paasd up; formed: the swarm's init and joins until every node was ready\n")
	fmt.Fprintf(w, "new node: the new release's instance ran on a node that had not run the app, which first pulls the\n")
	fmt.Fprintf(w, "image's lower layers (the stack's) from the registry; warm: on a node that had run it\n")
}

// writeScales writes the ps:scale table.
func writeScales(w io.Writer, s settings, rs []setupResult) {
	fmt.Fprintf(w, "\nps:scale web=3 from web=1 to web.1, web.2 and web.3 each answering through the router, %d round(s)\n", s.rounds)
	fmt.Fprintf(w, "%-16s %10s %10s %10s %16s\n", "setup", "p50 (n)", "min", "max", "new node p50 (n)")
	for _, r := range rs {
		fmt.Fprintf(w, "%-16s %10s %10s %10s %16s\n", r.setup.Name, p50n(r.scale.warm), minOf(r.scale.warm), maxOf(r.scale.warm), p50n(r.scale.newNode))
	}
}

// writeLoads writes the requests/s table.
func writeLoads(w io.Writer, s settings, rs []setupResult) {
	fmt.Fprintf(w, "\nrequests through the router to 3 web instances (a response of under 100 B):\n")
	fmt.Fprintf(w, "wrk -t%d -c%d -d%s --latency, keep-alive; median of %d run(s), after a 1 s warm-up\n",
		min(s.threads, s.conns), s.conns, s.duration, s.rounds)
	fmt.Fprintf(w, "%-16s %6s %10s %10s %10s %8s %8s\n", "setup", "nodes", "req/s", "p50", "p99", "ratio", "errors")
	var ref float64
	for _, r := range rs {
		if r.setup.Nodes == 0 {
			ref = medianRPS(r.load)
		}
	}
	for _, r := range rs {
		nodes, ratio := "host", "-"
		if r.setup.Nodes > 0 {
			nodes = fmt.Sprintf("%d", r.nodes)
		}
		if ref > 0 {
			ratio = fmt.Sprintf("%.2f", medianRPS(r.load)/ref)
		}
		var p50s, p99s []time.Duration
		var errs int64
		for _, l := range r.load {
			p50s, p99s, errs = append(p50s, l.P50), append(p99s, l.P99), errs+l.Errors
		}
		fmt.Fprintf(w, "%-16s %6s %10.0f %10s %10s %8s %8d\n", r.setup.Name, nodes, medianRPS(r.load), millis(median(p50s)), millis(median(p99s)), ratio, errs)
	}
	fmt.Fprintf(w, "nodes: the swarm nodes the 3 instances ran on (ps); ratio: req/s over local (docker)'s; errors: all runs'\n")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianRPS(rs []wrk.Result) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.RPS
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// p50n is the median of ds and how many there are, "-" for none.
func p50n(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", ms(median(ds)), len(ds))
}

func minOf(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return ms(slices.Min(ds))
}

func maxOf(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return ms(slices.Max(ds))
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func millis(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
