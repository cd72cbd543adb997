// Command sshconns measures what idle and silent SSH connections cost
// paasd, and whether a real command still gets through while they are
// open. It starts paasd (exec runtime, no apps), then for each N opens N
// silent TCP connections (sending nothing, from N/10 loopback addresses
// 127.0.1.x, or all from one address) and N authenticated connections
// each with an idle session open (no command), and prints paasd's file
// descriptors and RSS (from /proc) with the p50 and max latency of
// `ssh … apps` (a fresh connection each, from 127.0.0.1) alongside, a
// fresh paasd for each row. It does so with the default limits and with
// the caps on unauthenticated connections raised out of the way, to show
// what they hold back. Last,
// it opens silent connections, waits for the handshake deadline and
// counts paasd's descriptors again. It prints a table and writes it to
// bench/results/sshconns.txt (or the file -out names).
//
//	go run ./bench/sshconns [-n 0,50,200,1000] [-ssh 10] [-out FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

// handshakeTimeout is the deadline the last measurement waits for; the
// same as paasd's default.
const handshakeTimeout = 20 * time.Second

func main() {
	ns := flag.String("n", "0,50,200,1000", "connection counts to measure")
	sshRuns := flag.Int("ssh", 10, "ssh apps runs per row")
	results.Main("sshconns", func(ctx context.Context, w *results.Table) error {
		var counts []int
		for _, s := range strings.Split(*ns, ",") {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return fmt.Errorf("-n: %q is not a count", s)
			}
			counts = append(counts, n)
		}
		return run(ctx, w, counts, *sshRuns)
	})
}

// row is one measurement's set-up.
type row struct {
	silent  int
	sources int // addresses the silent connections come from
	idle    int
}

func run(ctx context.Context, w *results.Table, counts []int, sshRuns int) error {
	ws, err := paasd.NewWorkspace(ctx, "paas-bench-sshconns")
	if err != nil {
		return err
	}
	defer ws.Close()

	var rows []row
	for _, n := range counts {
		rows = append(rows, row{silent: n, sources: max(1, n/10), idle: n})
	}
	for _, n := range counts {
		if n > 10 {
			rows = append(rows, row{silent: n, sources: 1})
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-8s %7s %7s %6s %6s %6s %8s %9s %9s\n", "limits", "silent", "sources", "held", "idle", "fds", "rss MB", "apps p50", "apps max")
	var deadlineNote string
	for _, limits := range []struct {
		name string
		env  []string
	}{
		{"default", nil},
		{"no caps", []string{"PAAS_SSH_MAX_UNAUTHENTICATED=1000000", "PAAS_SSH_MAX_UNAUTHENTICATED_PER_SOURCE=1000000"}},
	} {
		// A fresh paasd for each row: its memory is that row's.
		for _, r := range rows {
			if err := withServer(ws, limits.env, func(srv *paasd.Server) error {
				return measureRow(ctx, w, srv, limits.name, r, sshRuns)
			}); err != nil {
				return fmt.Errorf("%s: %w", limits.name, err)
			}
		}
	}
	if err := withServer(ws, nil, func(srv *paasd.Server) error {
		var err error
		deadlineNote, err = measureDeadline(ctx, srv, counts[len(counts)-1])
		return err
	}); err != nil {
		return err
	}
	fmt.Fprint(w, deadlineNote)
	fmt.Fprintf(w, "\nsilent: TCP connections that send nothing, opened from `sources` loopback addresses (10 each, or all\n")
	fmt.Fprintf(w, "  from one); held: those paasd kept open (the rest it closed at once, over its caps; the idle\n")
	fmt.Fprintf(w, "  connections' own handshakes, made after, each took a place too while they lasted)\n")
	fmt.Fprintf(w, "idle: authenticated connections, each with a session open and no command\n")
	fmt.Fprintf(w, "fds, rss: paasd's open file descriptors and resident memory with all of them open (a fresh paasd each row)\n")
	fmt.Fprintf(w, "apps: `ssh paas@127.0.0.1 apps` meanwhile, a fresh connection each, %d runs\n", sshRuns)
	return w.Save()
}

// withServer starts paasd (exec runtime) with env, runs f and stops it.
func withServer(ws *paasd.Workspace, env []string, f func(*paasd.Server) error) error {
	srv, err := ws.Start("exec", env...)
	if err != nil {
		return err
	}
	err = f(srv)
	if serr := srv.Stop(); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("%w\npaasd's last log lines:\n%s", err, srv.Tail())
	}
	return nil
}

// measureRow opens r's connections, measures, and closes them.
func measureRow(ctx context.Context, w *results.Table, srv *paasd.Server, name string, r row, sshRuns int) error {
	// The first command opens what paasd keeps open afterwards.
	if _, _, err := timeApps(ctx, srv, 1); err != nil {
		return err
	}
	silent, err := openSilent(ctx, "127.0.0.1:"+srv.SSHPort, r.silent, r.sources)
	if err != nil {
		return err
	}
	idle, err := openIdle(ctx, srv, r.idle)
	if err != nil {
		silent.close()
		return err
	}
	fds, rss := fdCount(srv.Pid()), rssOf(srv.Pid())
	p50, worst, err := timeApps(ctx, srv, sshRuns)
	held := silent.held()
	silent.close()
	idle.close()
	if err != nil {
		return fmt.Errorf("ssh apps with %d silent and %d idle connections: %w", r.silent, r.idle, err)
	}
	fmt.Fprintf(w, "%-8s %7d %7d %6d %6d %6d %8.1f %9s %9s\n", name, r.silent, r.sources, held, r.idle, fds, float64(rss)/(1<<20), ms(p50), ms(worst))
	return nil
}

// measureDeadline opens n silent connections and counts paasd's
// descriptors before and after the handshake deadline; it returns the
// lines that say so.
func measureDeadline(ctx context.Context, srv *paasd.Server, n int) (string, error) {
	if _, _, err := timeApps(ctx, srv, 1); err != nil {
		return "", err
	}
	baseline := fdCount(srv.Pid())
	silent, err := openSilent(ctx, "127.0.0.1:"+srv.SSHPort, n, max(1, n/10))
	if err != nil {
		return "", err
	}
	defer silent.close()
	before, held := fdCount(srv.Pid()), silent.held()
	select {
	case <-time.After(handshakeTimeout + 2*time.Second):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return fmt.Sprintf("\nhandshake deadline (%v, default limits): %d silent connections opened from %d addresses, %d held;\n"+
		"  paasd's fds: %d with none open, %d with them open, %d at the deadline + 2s, when %d are still open\n",
		handshakeTimeout, n, max(1, n/10), held, baseline, before, fdCount(srv.Pid()), silent.held()), nil
}

// timeApps runs `ssh apps` n times and returns the p50 and max.
func timeApps(ctx context.Context, srv *paasd.Server, n int) (time.Duration, time.Duration, error) {
	var ds []time.Duration
	for range n {
		start := time.Now()
		if out, err := exec.CommandContext(ctx, "ssh", srv.SSHArgs("apps")...).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("%v: %s", err, out)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1], nil
}

func fdCount(pid int) int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries)
}

// rssOf is a process's resident memory in bytes.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if f := strings.Fields(ln); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
