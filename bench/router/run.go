package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"paas/bench/internal/wrk"
)

// sizes are the responses measured: the backend's two paths.
var sizes = []struct {
	path string
	size int
}{{smallPath, smallSize}, {largePath, largeSize}}

// cell names one table cell: a target at a number of connections and a
// response size.
type cell struct {
	target string
	conns  int
	size   int
	loaded bool // measured with the hog spinning on one core
}

// sample is one wrk run against a target, with the target's CPU time per
// request and its largest resident memory during the run.
type sample struct {
	wrk.Result
	cpuPerReq time.Duration
	maxRSS    int64
	// Context switches of the proxy's threads per request.
	vcsPerReq, icsPerReq float64
	// The backend's CPU time per request: what a proxy's way of
	// forwarding costs the app (its headers, how it batches).
	backendCPUPerReq time.Duration
}

func run(ctx context.Context, s settings) error {
	if _, err := os.Stat("router/router.go"); err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	root, err := os.MkdirTemp("", "paas-bench-router")
	if err != nil {
		return fmt.Errorf("making a temp dir: %w", err)
	}
	defer os.RemoveAll(root)

	var out bytes.Buffer
	w := io.MultiWriter(os.Stdout, &out)
	writeMachine(w)

	// The Go benchmarks run first, alone on the machine.
	var gb []goBench
	var gbErr error
	if s.metricsOnly {
		s.goBench, s.profile, s.loaded = false, false, false
	}
	if s.goBench {
		fmt.Fprintln(os.Stderr, "running", goBenchCmd)
		gb, gbErr = runGoBench(ctx)
	}

	backend, err := startSelf("backend")
	if err != nil {
		return err
	}
	defer backend.stop()
	ts, err := startTargets(w, root, backend, s.metricsOnly)
	if err != nil {
		return err
	}
	samples, err := measureAll(ctx, s, ts)
	stopTargets(ts)
	if err != nil {
		return err
	}
	writeTables(w, s, ts, samples)
	if s.goBench {
		writeGoBench(w, gb, gbErr)
	}
	if s.profile {
		fmt.Fprintln(os.Stderr, "profiling the router")
		prof, err := profileRouter(ctx, root, backend, s.threads, s.conns[len(s.conns)-1], s.duration)
		if err != nil {
			fmt.Fprintf(w, "\nprofile failed: %v\n", err)
		} else {
			fmt.Fprintf(w, "\n%s", prof)
		}
	}
	file := resultsFile
	if s.metricsOnly {
		file = metricsResultsFile
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return gbErr
}

// measureAll warms every target up, then runs wrk against each target for
// each number of connections and response size, round after round. Within
// a round the targets take turns, starting one further along each round,
// so slow drifts of the machine's load spread over all of them.
func measureAll(ctx context.Context, s settings, ts []*target) (map[cell][]sample, error) {
	for _, t := range ts {
		if err := verify(t); err != nil {
			return nil, err
		}
		if _, err := wrk.Run(ctx, "http://"+t.p.addr+smallPath, benchHost, s.threads, s.conns[len(s.conns)-1], time.Second); err != nil {
			return nil, fmt.Errorf("warming up %s: %w", t.name, err)
		}
	}
	samples := map[cell][]sample{}
	for round := range s.rounds {
		for _, conns := range s.conns {
			for _, sz := range sizes {
				for _, loaded := range s.modes() {
					if err := measureCell(ctx, s, ts, round, conns, sz.path, sz.size, loaded, samples); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return samples, nil
}

// measureCell runs wrk once against each target for one cell of one
// round, with the hog spinning when loaded.
func measureCell(ctx context.Context, s settings, ts []*target, round, conns int, path string, size int, loaded bool, samples map[cell][]sample) error {
	mode := ""
	if loaded {
		hog, err := startSelf("hog", "-cpu", fmt.Sprint(hogCore))
		if err != nil {
			return err
		}
		defer hog.stop()
		mode = " loaded"
	}
	for i := range ts {
		t := ts[(i+round)%len(ts)]
		if loaded && !loadedTargets[t.name] {
			continue
		}
		fmt.Fprintf(os.Stderr, "round %d/%d: %-18s -c%-4d %s%s\n", round+1, s.rounds, t.name, conns, sizeName(size), mode)
		sm, err := measure(ctx, s, t, ts[0].p.pid(), conns, path)
		if err != nil {
			return err
		}
		c := cell{t.name, conns, size, loaded}
		samples[c] = append(samples[c], sm)
	}
	return nil
}

// measure runs wrk once against t, reading t's and the backend's CPU
// time before and after and sampling t's memory during the run.
func measure(ctx context.Context, s settings, t *target, backend, conns int, path string) (sample, error) {
	before, beBefore := sumUsage(t.pids), sumUsage([]int{backend})
	rs := sampleRSS(t.pids)
	res, err := wrk.Run(ctx, "http://"+t.p.addr+path, benchHost, s.threads, conns, s.duration)
	maxRSS := rs.done()
	after, beAfter := sumUsage(t.pids), sumUsage([]int{backend})
	if err != nil {
		return sample{}, err
	}
	if dead, why := t.p.exited(); dead {
		return sample{}, fmt.Errorf("%s stopped during the run: %v\n%s", t.name, why, t.p.out)
	}
	sm := sample{Result: res, maxRSS: maxRSS}
	if res.Requests > 0 {
		sm.backendCPUPerReq = (beAfter.cpu - beBefore.cpu) / time.Duration(res.Requests)
	}
	if res.Requests > 0 && len(t.pids) > 0 {
		sm.cpuPerReq = (after.cpu - before.cpu) / time.Duration(res.Requests)
		sm.vcsPerReq = float64(after.vcs-before.vcs) / float64(res.Requests)
		sm.icsPerReq = float64(after.ics-before.ics) / float64(res.Requests)
	}
	return sm, nil
}
