// Command deploy measures redeploys under load. For each runtime (exec,
// and docker when an engine answers and the stack image exists) it starts
// paasd on loopback ports with a fresh data dir, pushes the graceful test
// app, and while a load generator keeps 32 keep-alive connections busy
// through the router, pushes changed commits one after another. It reports
// the requests served and failed (by status and error) and the switch time
// of each redeploy: the first response from the new release minus the end
// of git push (negative when the router switched before git push
// returned). It prints a table and writes it to bench/results/deploy.txt
// (or the file -out names).
//
//	go run ./bench/deploy [-redeploys 5] [-conns 32] [-runtimes exec,docker] [-timeout 30m] [-out FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

func main() {
	redeploys := flag.Int("redeploys", 5, "changed commits pushed under load")
	conns := flag.Int("conns", 32, "keep-alive connections of load")
	runtimes := flag.String("runtimes", "exec,docker", "runtimes to measure")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	results.Main("deploy", func(ctx context.Context, w *results.Table) error {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return run(ctx, w, *redeploys, *conns, strings.Split(*runtimes, ","))
	})
}

func run(ctx context.Context, w *results.Table, redeploys, conns int, runtimes []string) error {
	if _, err := os.Stat(appSource); err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	ws, err := paasd.NewWorkspace(ctx, "paas-bench-deploy")
	if err != nil {
		return err
	}
	defer ws.Close()

	writeHeader(w, redeploys, conns)
	var failed, details []string
	for _, rt := range runtimes {
		if rt == "docker" {
			if err := dockerReady(); err != nil {
				fmt.Fprintf(w, "%-8s skipped: %v\n", rt, err)
				continue
			}
		}
		m := measureRuntime(ctx, ws, rt, redeploys, conns)
		details = append(details, writeRow(w, m)...)
		if m.err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", rt, m.err))
		}
	}
	writeDetails(w, details)
	if err := w.Save(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return nil
}

// measureRuntime runs one paasd with runtime rt, measures and cleans up.
func measureRuntime(ctx context.Context, ws *paasd.Workspace, rt string, redeploys, conns int) measurement {
	p, err := ws.Start(rt)
	if err != nil {
		return measurement{runtime: rt, err: err}
	}
	m := measure(ctx, p, rt, redeploys, conns)
	if err := p.Stop(); err != nil && m.err == nil {
		m.err = err
	}
	if m.err != nil {
		m.err = fmt.Errorf("%w\npaasd's last log lines:\n%s", m.err, p.Tail())
	}
	return m
}
