package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"paas/bench/internal/paasd"
	"paas/bench/internal/results"
	"paas/bench/internal/wrk"
	"paas/internal/swarmtest"
)

// setupResult is what was measured on one setup.
type setupResult struct {
	setup    setup
	formedIn time.Duration // the swarm's forming, 0 for local
	started  time.Duration // engines, swarm and paasd started
	push     pushResult
	scale    scaleResult
	nodes    int // distinct nodes of the 3 web instances under load
	load     []wrk.Result
}

func run(ctx context.Context, w *results.Table, s settings) error {
	src := filepath.Join("e2e", "testdata", "apps", s.app)
	if _, err := os.Stat(filepath.Join(src, "Procfile")); err != nil {
		return fmt.Errorf("no test app %q (run from the repository root): %w", s.app, err)
	}
	if why := swarmtest.Requirement(); why != "" {
		return fmt.Errorf("cannot form a test swarm: %s", why)
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("the load needs wrk: %w", err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", stackImage()).CombinedOutput(); err != nil {
		return fmt.Errorf("the host's engine lacks the stack image %s: %v: %s", stackImage(), err, out)
	}
	ws, err := paasd.NewWorkspace(ctx, "paas-bench-swarm")
	if err != nil {
		return err
	}
	defer ws.Close()
	start := time.Now()
	load0 := loadAverage()
	var rs []setupResult
	for _, st := range s.setups {
		fmt.Fprintf(os.Stderr, "%s\n", st.Name)
		r, err := measureSetup(ctx, ws, st, src, s)
		if err != nil {
			return fmt.Errorf("%s: %w", st.Name, err)
		}
		rs = append(rs, r)
	}
	writeNotes(w, s, load0, loadAverage(), time.Since(start))
	writePushes(w, s, rs)
	writeScales(w, s, rs)
	writeLoads(w, s, rs)
	return w.Save()
}

// measureSetup starts paasd on st, measures pushes, scales and load on
// an app of its own, and stops it all.
func measureSetup(ctx context.Context, ws *paasd.Workspace, st setup, src string, s settings) (r setupResult, err error) {
	r.setup = st
	d, err := deploy(ctx, ws, st)
	if err != nil {
		return r, err
	}
	r.formedIn, r.started = d.formedIn, d.startedIn
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\npaasd's last log lines:\n%s", err, d.srv.Tail())
		}
		if cerr := d.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", cerr))
		}
	}()
	app := "bench-swarm-local"
	if st.Nodes > 0 {
		app = fmt.Sprintf("bench-swarm-%d", st.Nodes)
	}
	repo, err := d.srv.NewRepo(ctx, app, os.DirFS(src))
	if err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "  %d pushes\n", s.pushes)
	seen := nodeHistory{}
	if r.push, err = measurePushes(ctx, d.srv, repo, app, s.pushes, seen); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "  %d ps:scale rounds\n", s.rounds)
	if r.scale, err = measureScale(ctx, d.srv, app, s.rounds, seen); err != nil {
		return r, err
	}
	ins, err := ps(ctx, d.srv, app, "web")
	if err != nil {
		return r, err
	}
	if len(ins) != 3 {
		return r, fmt.Errorf("ps lists %d web instances after ps:scale web=3", len(ins))
	}
	r.nodes = nodesOf(ins)
	if r.load, err = measureLoad(ctx, d.srv, app, s); err != nil {
		return r, err
	}
	return r, nil
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	var a, b5, c string
	fmt.Sscan(string(b), &a, &b5, &c)
	return a + " " + b5 + " " + c
}
