// Command addons measures backing services on a real paasd: how long
// `addons:create` takes until the URL it set accepts a query (the engine's
// image already present), and the latency of `SELECT 1` through that URL
// from where an app's instance runs, next to the same query on the
// service's local socket, which no network path can beat.
//
// For each runtime it starts paasd, pushes a small app, creates -creates
// postgres and redis services for it one after another (the first one of
// each engine also builds the image when missing, and is not counted),
// and times each create from the command's start until a client on the
// app's side of the network gets an answer. Then pgbench runs -queries
// `SELECT 1` transactions on one connection, through the URL and on the
// socket, and the p50 and p99 of the per-query latencies are printed.
//
// On docker the URL's client runs in the network namespace of the app's
// web instance (a container sharing it), so it takes the instance's path
// to the service; on exec it runs on the host, as instances do.
//
//	go run ./bench/addons [-runtimes docker,exec] [-creates 5] [-queries 5000] [-out FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
)

func main() {
	runtimes := flag.String("runtimes", "docker,exec", "runtimes to measure")
	creates := flag.Int("creates", 5, "timed creates per engine")
	queries := flag.Int("queries", 5000, "SELECT 1 transactions per latency run")
	results.Main("addons", func(ctx context.Context, w *results.Table) error {
		ws, err := paasd.NewWorkspace(ctx, "paas-bench-addons")
		if err != nil {
			return err
		}
		defer ws.Close()
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%-7s %-9s %-28s %8s %8s %8s\n", "runtime", "engine", "measure", "p50", "p99", "n")
		for _, rt := range strings.Split(*runtimes, ",") {
			var h host
			switch rt {
			case "docker":
				h = dockerHost{}
			case "exec":
				h = execHost{}
			default:
				return fmt.Errorf("-runtimes: unknown runtime %q", rt)
			}
			if err := measure(ctx, w, ws, rt, h, *creates, *queries); err != nil {
				return fmt.Errorf("%s: %w", rt, err)
			}
		}
		return w.Save()
	})
}

// host runs clients next to an app's instance and next to a service.
type host interface {
	// prepare readies clients where app's instances run; done undoes
	// it.
	prepare(ctx context.Context, s *paasd.Server, app string) (done func(), err error)
	// joinInstance moves the pgbench client next to app's current web
	// instance.
	joinInstance(ctx context.Context, app string) error
	// query runs argv (psql or redis-cli with a URL) where app's
	// instances run and returns its output.
	query(ctx context.Context, argv []string) (string, error)
	// pgbench runs pgbench with args, the last of which is the URL,
	// next to the app's instance (socket false) or on service name's
	// local socket, with script as its transaction, and returns the
	// per-transaction latency log.
	pgbench(ctx context.Context, s *paasd.Server, name string, socket bool, password string, script string, args []string) (string, error)
}

// measure is one runtime's rows.
func measure(ctx context.Context, w *results.Table, ws *paasd.Workspace, rt string, h host, creates, queries int) error {
	s, err := ws.Start(rt)
	if err != nil {
		return err
	}
	defer s.Stop()
	app := "bench-addons"
	repo, err := s.NewRepo(ctx, app, os.DirFS(filepath.Join("e2e/testdata/apps", "python")))
	if err != nil {
		return err
	}
	if _, err := repo.Push(ctx, 1); err != nil {
		return err
	}
	if _, err := s.WaitRelease(ctx, app, 5*time.Minute, func(v int) bool { return v >= 1 }); err != nil {
		return err
	}
	done, err := h.prepare(ctx, s, app)
	if err != nil {
		return err
	}
	defer done()
	// Services outlive the app; whatever happens, none is left behind.
	defer func() {
		for i := 0; i <= creates; i++ {
			for _, engine := range []string{"postgres", "redis"} {
				name := fmt.Sprintf("bench-%s-%d", engine, i)
				s.SSH(context.WithoutCancel(ctx), fmt.Sprintf("addons:destroy %s --confirm %s --detach", name, name))
			}
		}
	}()

	for _, engine := range []string{"postgres", "redis"} {
		var took []time.Duration
		for i := 0; i <= creates; i++ {
			name := fmt.Sprintf("bench-%s-%d", engine, i)
			v := fmt.Sprintf("B%s%d", strings.ToUpper(engine[:1]), i)
			d, err := createAndQuery(ctx, s, h, app, engine, name, v)
			if err != nil {
				return err
			}
			if i > 0 { // the first may build the image
				took = append(took, d)
			}
		}
		row(w, rt, engine, "create -> first query", took)
	}

	url, err := s.SSH(ctx, "config:get "+app+" BP1_URL")
	if err != nil {
		return err
	}
	url = strings.TrimSpace(url)
	password, err := passwordOf(url)
	if err != nil {
		return err
	}
	if err := h.joinInstance(ctx, app); err != nil {
		return err
	}
	args := []string{"-n", "-t", fmt.Sprint(queries), url}
	viaURL, err := h.pgbench(ctx, s, "bench-postgres-1", false, password, "SELECT 1;\n", args)
	if err != nil {
		return err
	}
	lat, err := latencies(viaURL)
	if err != nil {
		return err
	}
	row(w, rt, "postgres", "SELECT 1 through the URL", lat)
	local, err := h.pgbench(ctx, s, "bench-postgres-1", true, password, "SELECT 1;\n", args)
	if err != nil {
		return err
	}
	if lat, err = latencies(local); err != nil {
		return err
	}
	row(w, rt, "postgres", "SELECT 1 on the local socket", lat)

	return nil
}

// createAndQuery creates a service attached as V_URL and returns the time
// from the command's start until a client next to the app's instance gets
// an answer through the URL.
func createAndQuery(ctx context.Context, s *paasd.Server, h host, app, engine, name, v string) (time.Duration, error) {
	start := time.Now()
	if _, err := s.SSH(ctx, fmt.Sprintf("addons:create %s %s --name %s --as %s", app, engine, name, v)); err != nil {
		return 0, err
	}
	url, err := s.SSH(ctx, "config:get "+app+" "+v+"_URL")
	if err != nil {
		return 0, err
	}
	url = strings.TrimSpace(url)
	argv := []string{"psql", "-X", "-A", "-t", "-c", "select 1", url}
	want := "1"
	if engine == "redis" {
		argv = []string{"redis-cli", "--no-auth-warning", "-u", url, "ping"}
		want = "PONG"
	}
	out, err := h.query(ctx, argv)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(out) != want {
		return 0, fmt.Errorf("%s answered %q, want %q", name, out, want)
	}
	return time.Since(start), nil
}

// passwordOf is the password in a service URL.
func passwordOf(url string) (string, error) {
	at := strings.LastIndexByte(url, '@')
	colon := strings.LastIndexByte(url[:max(at, 0)], ':')
	if at < 0 || colon < 0 {
		return "", fmt.Errorf("no password in the URL")
	}
	return url[colon+1 : at], nil
}

// latencies reads the per-transaction latencies of a pgbench log (the
// third field, in microseconds).
func latencies(log string) ([]time.Duration, error) {
	var out []time.Duration
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		var us int64
		if _, err := fmt.Sscan(f[2], &us); err != nil {
			return nil, fmt.Errorf("pgbench log line %q: %w", line, err)
		}
		out = append(out, time.Duration(us)*time.Microsecond)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pgbench logged no transactions")
	}
	return out, nil
}

// row prints one measurement: its p50, p99 and count.
func row(w *results.Table, rt, engine, what string, d []time.Duration) {
	slices.Sort(d)
	p50 := d[len(d)/2]
	p99 := d[(len(d)*99+99)/100-1]
	fmt.Fprintf(w, "%-7s %-9s %-28s %8s %8s %8d\n", rt, engine, what, round(p50), round(p99), len(d))
}

// round shortens a duration for the table.
func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
