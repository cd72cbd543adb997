package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// writeMachine prints the machine and the tools measured.
func writeMachine(w io.Writer) {
	cpus, _ := exec.Command("nproc").Output()
	fmt.Fprintf(w, "machine: %s cores, load average at start %s\n", strings.TrimSpace(string(cpus)), loadAverage())
	fmt.Fprintf(w, "%s\n", toolVersions())
}

// loadAverage is the machine's 1, 5 and 15 minute load averages: other
// work on the machine takes cores from the targets and from wrk.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// toolVersions names the versions of the load generator and proxies.
func toolVersions() string {
	first := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if line == "" {
			return name + " (absent)"
		}
		return line
	}
	vs := []string{first("wrk", "-v"), first("nginx", "-v"), first("haproxy", "-v")}
	if _, err := exec.LookPath("caddy"); err == nil {
		vs = append(vs, "caddy version: "+first("caddy", "version"))
	}
	return strings.Join(vs, "; ")
}

// writeTables prints, for each number of connections and response size,
// the median of each target's rounds, then the ratios of the router to
// nginx and to the backend, then the proxies' memory.
func writeTables(w io.Writer, s settings, ts []*target, samples map[cell][]sample) {
	fmt.Fprintf(w, "\nload: wrk -t%d -cN -d%s --latency -H 'Host: %s', keep-alive; all on loopback, sharing the machine's cores with the backend and wrk\n",
		s.threads, s.duration, benchHost)
	fmt.Fprintf(w, "each figure is the median of %d round(s); targets interleaved within a round\n", s.rounds)
	fmt.Fprintf(w, "how to read: share = req/s as a share of direct (the backend alone); router/nginx >= 1.00 is the goal; cpu/req is the proxy's own CPU time (utime+stime from /proc) per request; app cpu is the backend's CPU time per request through that proxy; vcs/ics/req are its threads' voluntary and involuntary context switches per request; rss is its resident memory at most during the run\n")
	fmt.Fprintf(w, "\ntargets:\n")
	for _, t := range ts {
		fmt.Fprintf(w, "  %-18s %s\n", t.name, t.note)
	}
	for _, loaded := range s.modes() {
		for _, conns := range s.conns {
			for _, sz := range sizes {
				writeCell(w, ts, samples, conns, sz.size, loaded)
			}
		}
	}
	writeSummary(w, s, samples)
	fmt.Fprintf(w, "\nload average after the rounds (wrk, the backend and a proxy keep about 3 of it busy): %s\n", loadAverage())
	fmt.Fprintf(w, "\nresident memory (VmRSS, all processes of the proxy)\n%-18s %9s %12s\n", "target", "idle", "under load")
	for _, t := range ts[1:] {
		var peak float64
		for c, sm := range samples {
			if c.target == t.name {
				peak = max(peak, maxOf(sm, func(s sample) float64 { return float64(s.maxRSS) }))
			}
		}
		fmt.Fprintf(w, "%-18s %9s %12s\n", t.name, mib(float64(t.idleRSS)), mib(peak))
	}
}

// writeCell prints one cell's table: the median of each target's rounds,
// then the ratios of the router to nginx and to the backend.
func writeCell(w io.Writer, ts []*target, samples map[cell][]sample, conns, size int, loaded bool) {
	mode := ""
	if loaded {
		mode = fmt.Sprintf(", a CPU hog spinning on core %d", hogCore)
	}
	fmt.Fprintf(w, "\n%d connections, %s responses%s\n", conns, sizeName(size), mode)
	fmt.Fprintf(w, "%-18s %10s %9s %9s %6s %9s %11s %9s %9s %7s\n", "target", "req/s", "p50", "p99", "share", "cpu/req", "vcs/ics/req", "app cpu", "rss max", "errors")
	direct := medianOf(samples[cell{"direct", conns, size, loaded}], func(s sample) float64 { return s.RPS })
	for _, t := range ts {
		sm := samples[cell{t.name, conns, size, loaded}]
		if len(sm) == 0 {
			continue
		}
		rps := medianOf(sm, func(s sample) float64 { return s.RPS })
		cpu, cs, mem := "-", "-", "-"
		if len(t.pids) > 0 {
			cpu = fmt.Sprintf("%.1fus", medianOf(sm, func(s sample) float64 { return float64(s.cpuPerReq) })/1e3)
			cs = fmt.Sprintf("%.2f/%.2f", medianOf(sm, func(s sample) float64 { return s.vcsPerReq }),
				medianOf(sm, func(s sample) float64 { return s.icsPerReq }))
			mem = mib(maxOf(sm, func(s sample) float64 { return float64(s.maxRSS) }))
		}
		app := fmt.Sprintf("%.1fus", medianOf(sm, func(s sample) float64 { return float64(s.backendCPUPerReq) })/1e3)
		fmt.Fprintf(w, "%-18s %10.0f %9s %9s %6.2f %9s %11s %9s %9s %7.0f\n", t.name, rps,
			latency(medianOf(sm, func(s sample) float64 { return float64(s.P50) })),
			latency(medianOf(sm, func(s sample) float64 { return float64(s.P99) })),
			rps/direct, cpu, cs, app, mem, sumOf(sm, func(s sample) float64 { return float64(s.Errors) }))
	}
	writeRatios(w, samples, conns, size, loaded)
}

// writeSummary prints router/nginx for every cell: req/s, and p99 as a
// multiple of nginx's (below 1 is better); and the same against nginx
// sending the router's headers too.
func writeSummary(w io.Writer, s settings, samples map[cell][]sample) {
	rps := func(s sample) float64 { return s.RPS }
	p99 := func(s sample) float64 { return float64(s.P99) }
	fmt.Fprintf(w, "\nrouter/nginx by cell: req/s ratio (>= 1.00 is the goal), p99 ratio (<= 1.00 is the goal); the same against nginx-headers\n")
	fmt.Fprintf(w, "%-26s %10s %10s %16s %16s\n", "cell", "req/s", "p99", "headers req/s", "headers p99")
	for _, loaded := range s.modes() {
		for _, conns := range s.conns {
			for _, sz := range sizes {
				r, n := samples[cell{"router", conns, sz.size, loaded}], samples[cell{"nginx", conns, sz.size, loaded}]
				if len(r) == 0 || len(n) == 0 {
					continue
				}
				name := fmt.Sprintf("%d conns, %s", conns, sizeName(sz.size))
				if loaded {
					name += ", hog"
				}
				line := fmt.Sprintf("%-26s %10.2f %10.2f", name, medianOf(r, rps)/medianOf(n, rps), medianOf(r, p99)/medianOf(n, p99))
				if h := samples[cell{"nginx-headers", conns, sz.size, loaded}]; len(h) > 0 {
					line += fmt.Sprintf(" %16.2f %16.2f", medianOf(r, rps)/medianOf(h, rps), medianOf(r, p99)/medianOf(h, p99))
				}
				fmt.Fprintln(w, line)
			}
		}
	}
}

// writeRatios prints the router's req/s and p99 against nginx's and the
// backend's.
func writeRatios(w io.Writer, samples map[cell][]sample, conns, size int, loaded bool) {
	med := func(name string, f func(sample) float64) float64 {
		return medianOf(samples[cell{name, conns, size, loaded}], f)
	}
	rps := func(s sample) float64 { return s.RPS }
	p99 := func(s sample) float64 { return float64(s.P99) }
	router := med("router", rps)
	line := ""
	if len(samples[cell{"router-metrics", conns, size, loaded}]) > 0 {
		line = fmt.Sprintf("router-metrics/router %.3f req/s, p99 %.2fx; ", med("router-metrics", rps)/router, med("router-metrics", p99)/med("router", p99))
	}
	if len(samples[cell{"nginx", conns, size, loaded}]) > 0 {
		line += fmt.Sprintf("router/nginx %.2f req/s, p99 %.2fx nginx's; ", router/med("nginx", rps), med("router", p99)/med("nginx", p99))
	}
	line += fmt.Sprintf("router/direct %.2f", router/med("direct", rps))
	for _, other := range []string{"nginx-headers", "router-general", "nginx-nokeepalive", "caddy", "kamal-proxy"} {
		if len(samples[cell{other, conns, size, loaded}]) > 0 {
			line += fmt.Sprintf("; router/%s %.2f", other, router/med(other, rps))
		}
	}
	fmt.Fprintln(w, line)
}

// writeGoBench prints the router's allocations per request.
func writeGoBench(w io.Writer, bs []goBench, err error) {
	fmt.Fprintf(w, "\nrouter allocations per request (%s)\n", strings.Join(goBenchCmd, " "))
	fmt.Fprintf(w, "ServeHTTP: the handler alone into a discarding ResponseWriter; Server: router.NewServer over one keep-alive client connection\n")
	if err != nil {
		fmt.Fprintf(w, "failed: %v\n", err)
		return
	}
	fmt.Fprintf(w, "%-28s %12s %10s %10s\n", "benchmark", "ns/op", "B/op", "allocs/op")
	for _, b := range bs {
		fmt.Fprintf(w, "%-28s %12.0f %10d %10d\n", b.name, b.nsPerOp, b.bytesPerOp, b.allocsPerOp)
	}
}

func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// latency formats nanoseconds as milliseconds.
func latency(ns float64) string {
	return fmt.Sprintf("%.2fms", ns/float64(time.Millisecond))
}

func mib(b float64) string { return fmt.Sprintf("%.1fMiB", b/(1<<20)) }

func medianOf(ss []sample, f func(sample) float64) float64 {
	if len(ss) == 0 {
		return 0
	}
	vs := make([]float64, len(ss))
	for i, s := range ss {
		vs[i] = f(s)
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func maxOf(ss []sample, f func(sample) float64) float64 {
	var m float64
	for _, s := range ss {
		m = max(m, f(s))
	}
	return m
}

func sumOf(ss []sample, f func(sample) float64) float64 {
	var n float64
	for _, s := range ss {
		n += f(s)
	}
	return n
}
