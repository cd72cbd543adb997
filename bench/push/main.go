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
// connection). It prints a table and writes it to bench/results/push.txt
// (or the file -out names).
//
// With -timeline (the default) paasd runs with PAAS_DEBUG_TIMING=1 and
// the program also prints the p50 of each phase of paasd's timeline, for
// the warm pushes and the config changes of each runtime and app.
//
// With -gap each push and config change waits that long after the
// previous release served, as a developer's edit and commit would.
//
//	go run ./bench/push [-pushes 5] [-ssh 30] [-runtimes exec,docker] [-apps python,go,node] [-timeline=true] [-gap 0] [-out FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

func main() {
	pushes := flag.Int("pushes", 5, "pushes per app (the first is cold)")
	sshRuns := flag.Int("ssh", 30, "ssh round trips for each p50")
	runtimes := flag.String("runtimes", "exec,docker", "runtimes to measure")
	apps := flag.String("apps", "python,go,node", "test apps to push")
	timeline := flag.Bool("timeline", true, "run paasd with PAAS_DEBUG_TIMING=1 and print where the time of a warm push and a config:set goes")
	gap := flag.Duration("gap", 0, "pause between one release serving and the next push or config change (0: back to back)")
	results.Main("push", func(ctx context.Context, w *results.Table) error {
		return run(ctx, w, *pushes, *sshRuns, *timeline, *gap, strings.Split(*runtimes, ","), strings.Split(*apps, ","))
	})
}

func run(ctx context.Context, w *results.Table, pushes, sshRuns int, timeline bool, gap time.Duration, runtimes, apps []string) error {
	ws, err := paasd.NewWorkspace(ctx, "paas-bench-push")
	if err != nil {
		return err
	}
	defer ws.Close()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "push to serving (git push start to the new release answering through the router)")
	if gap > 0 {
		fmt.Fprintf(w, ", %s after the previous release served", gap)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "live: to the new release's first answer, polled every 5ms from before the change (the old instance is stopped after)")
	fmt.Fprintf(w, "%-8s %-7s %10s %10s %10s %14s %10s %12s\n", "runtime", "app", "cold", "warm p50", "warm max", "config:set p50", "live p50", "config live")

	env := []string{"PAAS_STOP_TIMEOUT=5s"}
	if timeline {
		env = append(env, "PAAS_DEBUG_TIMING=1")
	}
	var srv *paasd.Server
	var pushCols, configCols []column
	for _, rt := range runtimes {
		srv, err = ws.Start(rt, env...)
		if err != nil {
			if rt == "docker" {
				fmt.Fprintf(w, "%-8s skipped: %v\n", rt, err)
				continue
			}
			return err
		}
		for _, app := range apps {
			res, err := measureApp(ctx, srv, app, pushes, gap)
			if err != nil {
				stop(srv)
				return fmt.Errorf("%s on %s: %w\npaasd's last log lines:\n%s", app, rt, err, srv.Tail())
			}
			fmt.Fprintf(w, "%-8s %-7s %10s %10s %10s %14s %10s %12s\n", rt, app, ms(res.cold), ms(p50(res.warm)), ms(slices.Max(res.warm)), ms(p50(res.config)),
				ms(p50(res.warmLive)), ms(p50(res.configLive)))
			pushCols = append(pushCols, column{rt + " " + app, res.pushPhases})
			configCols = append(configCols, column{rt + " " + app, res.configPhases})
		}
		if rt != runtimes[len(runtimes)-1] {
			stop(srv)
		}
	}
	if srv == nil {
		return fmt.Errorf("no runtime could be measured")
	}
	defer stop(srv)
	printPhases(w, "where a warm push goes (paasd's PAAS_DEBUG_TIMING timeline, p50 of each phase)", pushCols)
	printPhases(w, "where a config:set goes (p50 of each phase)", configCols)

	fmt.Fprintf(w, "\nSSH command round trip, a fresh connection each, p50 of %d\n", sshRuns)
	fmt.Fprintf(w, "%-34s %10s\n", "command", "p50")
	paasP50, err := timeRuns(sshRuns, "ssh", srv.SSHArgs("apps")...)
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
	return w.Save()
}

// stop stops srv, saying on stderr what did not go cleanly.
func stop(srv *paasd.Server) {
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
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
