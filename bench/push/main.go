// Command push measures the push-to-serving path of paasd. For each
// runtime (exec, and docker when an engine answers) it starts paasd on
// loopback ports with a fresh data dir, and for each test app (Python, Go,
// Node) pushes it once (cold) and then several times with a changed commit
// (warm: the build cache is kept), timing `git push` start to the new
// release answering through the router. It also times a config change to
// the new release serving (new instances start, are probed, and the
// router switches). Last, it compares the p50 of `ssh … apps` round trips
// with `ssh localhost true` against the machine's own OpenSSH server, when
// one answers on port 22 (the floor for a command over a fresh SSH
// connection). It prints a table and writes it to bench/results/push.txt.
//
//	go run ./bench/push [-pushes 5] [-ssh 30] [-runtimes exec,docker] [-apps python,go,node]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	pushes := flag.Int("pushes", 5, "pushes per app (the first is cold)")
	sshRuns := flag.Int("ssh", 30, "ssh round trips for each p50")
	runtimes := flag.String("runtimes", "exec,docker", "runtimes to measure")
	apps := flag.String("apps", "python,go,node", "test apps to push")
	flag.Parse()
	if err := run(*pushes, *sshRuns, strings.Split(*runtimes, ","), strings.Split(*apps, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(pushes, sshRuns int, runtimes, apps []string) error {
	root, err := os.MkdirTemp("", "paas-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	paasd := filepath.Join(root, "paasd")
	build := exec.Command("go", "build", "-o", paasd, "./cmd/paasd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building paasd: %v\n%s", err, out)
	}
	var table bytes.Buffer
	w := io.MultiWriter(os.Stdout, &table)
	host, _ := os.Hostname()
	cpus, _ := exec.Command("nproc").Output()
	fmt.Fprintf(w, "machine: %s, %s cores\n\n", host, strings.TrimSpace(string(cpus)))
	fmt.Fprintf(w, "push to serving (git push start to the new release answering through the router)\n")
	fmt.Fprintf(w, "%-8s %-7s %10s %10s %10s %14s\n", "runtime", "app", "cold", "warm p50", "warm max", "config:set p50")

	var srv *server
	for _, rt := range runtimes {
		srv, err = startServer(paasd, filepath.Join(root, rt), rt)
		if err != nil {
			if rt == "docker" {
				fmt.Fprintf(w, "%-8s skipped: %v\n", rt, err)
				continue
			}
			return err
		}
		for _, app := range apps {
			res, err := srv.measureApp(app, pushes)
			if err != nil {
				srv.stop()
				return fmt.Errorf("%s on %s: %w", app, rt, err)
			}
			fmt.Fprintf(w, "%-8s %-7s %10s %10s %10s %14s\n", rt, app, ms(res.cold), ms(p50(res.warm)), ms(slices.Max(res.warm)), ms(p50(res.config)))
		}
		if rt != runtimes[len(runtimes)-1] {
			srv.stop()
		}
	}
	if srv == nil {
		return fmt.Errorf("no runtime could be measured")
	}
	defer srv.stop()

	fmt.Fprintf(w, "\nSSH command round trip, a fresh connection each, p50 of %d\n", sshRuns)
	fmt.Fprintf(w, "%-34s %10s\n", "command", "p50")
	paasP50, err := timeRuns(sshRuns, "ssh", srv.sshArgs("apps")...)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-34s %10s\n", "ssh paas@paasd apps", paasP50.Round(100*time.Microsecond))
	if c, err := net.DialTimeout("tcp", "127.0.0.1:22", time.Second); err == nil {
		c.Close()
		floor, err := timeRuns(sshRuns, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "localhost", "true")
		if err != nil {
			fmt.Fprintf(w, "%-34s %10s (%v)\n", "ssh localhost true (OpenSSH)", "failed", err)
		} else {
			fmt.Fprintf(w, "%-34s %10s\n", "ssh localhost true (OpenSSH)", floor.Round(100*time.Microsecond))
			fmt.Fprintf(w, "ratio apps/floor: %.2f (target <= 1.2)\n", float64(paasP50)/float64(floor))
		}
	} else {
		fmt.Fprintf(w, "no OpenSSH server on 127.0.0.1:22: floor not measured\n")
	}
	if err := os.MkdirAll("bench/results", 0o755); err == nil {
		os.WriteFile("bench/results/push.txt", table.Bytes(), 0o644)
	}
	return nil
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func timeRuns(n int, name string, args ...string) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%s: %v: %s", name, err, out)
		}
		ds = append(ds, time.Since(start))
	}
	return p50(ds), nil
}

func p50(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
