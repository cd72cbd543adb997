// Command router measures paas's HTTP router against nginx and HAProxy on
// loopback. It starts one tiny backend (this program re-executed with
// -role backend), paas's router as paasd builds it (-role router), nginx
// twice (with upstream keep-alive, and without: Dokku's and CapRover's
// default template) and HAProxy, each with a configuration written to a
// temp dir, plus Caddy and kamal-proxy when they are on PATH, and two
// floors that are not proxies (-role pipe, pipe.go): connections piped
// byte for byte, on goroutines and on a raw epoll event loop. Then, for
// each number of connections and each response size, it drives every
// target with wrk in turn, round after round, and prints the median
// requests/s, p50 and p99 latency, the router/nginx and router/direct
// ratios, CPU time per request and resident memory of each proxy, the
// router's allocations per request (go test -bench on package router)
// and, last, the top of a CPU profile of the router under load. The
// tables are written to bench/results/router.txt. The router is measured
// twice: as "router" with no metrics and as "router-metrics" recording
// every request in a metrics registry as paasd does; -metrics-only
// measures just those two (and the backend) and writes
// bench/results/router-metrics.txt. -registry-memory fills a metrics
// registry with 100 apps' day of points and prints the heap it takes.
// With -loaded (the default) every cell is measured a second time, for
// the backend, the router, nginx and HAProxy, while a CPU hog this
// program starts (-role hog) spins on one core, as another process on a
// busy machine would.
//
//	go run ./bench/router [-rounds 3] [-duration 5s] [-conns 32,256] [-loaded=true] [-profile=true]
//	go run ./bench/router -metrics-only -rounds 9
//	go run ./bench/router -registry-memory
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	resultsFile        = "bench/results/router.txt"
	metricsResultsFile = "bench/results/router-metrics.txt"
)

func main() {
	role := flag.String("role", "", "internal: run as the benchmark's backend or router")
	backendAddr := flag.String("backend", "", "internal: the backend the router role forwards to")
	hogCPU := flag.Int("cpu", 0, "internal: the core the hog role spins on")
	cpuProfile := flag.String("cpuprofile", "", "internal: the router role writes a CPU profile here when stopped")
	generalPath := flag.Bool("general", false, "internal: the router role serves with the general path only")
	pipeModel := flag.String("model", "", "internal: the pipe role's model, goroutine or epoll")
	withMetrics := flag.Bool("metrics", false, "internal: the router role records every request in a metrics registry, as paasd does")
	metricsOnly := flag.Bool("metrics-only", false, "measure only the router with metrics off and on (and the backend), and write "+metricsResultsFile)
	registryMem := flag.Bool("registry-memory", false, "fill a metrics registry with 100 apps' day of points, print the heap it takes, and exit")
	rounds := flag.Int("rounds", 3, "rounds over all targets; each figure is the median of the rounds")
	duration := flag.Duration("duration", 5*time.Second, "length of one wrk run")
	conns := flag.String("conns", "32,256", "comma-separated numbers of keep-alive connections")
	threads := flag.Int("threads", 2, "wrk threads")
	loaded := flag.Bool("loaded", true, "also measure every cell with a CPU hog spinning on one core (backend, router, nginx and HAProxy only)")
	profile := flag.Bool("profile", true, "profile the router under load and print the top of the profile")
	goBench := flag.Bool("gobench", true, "run the router's Go benchmarks for allocations per request")
	flag.Parse()

	var err error
	switch *role {
	case "backend":
		err = runBackend()
	case "hog":
		err = runHog(*hogCPU)
	case "router":
		err = runRouter(*backendAddr, *cpuProfile, *generalPath, *withMetrics)
	case "pipe":
		err = runPipe(*backendAddr, *pipeModel)
	case "":
		if *registryMem {
			err = registryMemory(os.Stdout)
			break
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		var cs []int
		cs, err = parseConns(*conns)
		if err == nil {
			err = run(ctx, settings{
				rounds: *rounds, duration: *duration, conns: cs, threads: *threads,
				profile: *profile, goBench: *goBench, metricsOnly: *metricsOnly, loaded: *loaded,
			})
		}
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings are the benchmark's parameters.
type settings struct {
	rounds   int
	duration time.Duration
	conns    []int
	threads  int
	profile  bool
	goBench  bool
	// metricsOnly measures the router with metrics off and on, and the
	// backend, without the other proxies, the Go benchmarks or a profile.
	metricsOnly bool
	// loaded measures every cell again with a CPU hog on one core.
	loaded bool
}

// modes are the machine's states a cell is measured in: idle but for the
// benchmark, and, with s.loaded, with a hog on one core.
func (s settings) modes() []bool {
	if s.loaded {
		return []bool{false, true}
	}
	return []bool{false}
}

func parseConns(s string) ([]int, error) {
	var cs []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad -conns %q: want numbers like 32,256", s)
		}
		cs = append(cs, n)
	}
	return cs, nil
}
