package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"paas/bench/internal/paasd"
	"paas/loadgen"
)

const (
	appName      = "bench-deploy"
	appSource    = "e2e/testdata/apps/graceful"
	serveTimeout = 2 * time.Minute
)

// measurement is what one runtime did under load.
type measurement struct {
	runtime  string
	load     loadgen.Result
	switches []time.Duration // first response of the new release minus the end of git push
	pushes   []time.Duration // git push durations
	err      error           // why the redeploys stopped early, if they did
}

// measure pushes the graceful app to p, then redeploys it n times with
// conns connections of load running through the router.
func measure(ctx context.Context, p *paasd.Server, runtime string, n, conns int) (m measurement) {
	m.runtime = runtime
	repo, err := p.NewRepo(ctx, appName, os.DirFS(appSource))
	if err != nil {
		m.err = err
		return m
	}
	if _, err := repo.Push(ctx, 0); err != nil {
		m.err = fmt.Errorf("first push: %w", err)
		return m
	}
	base, err := p.WaitRelease(ctx, appName, serveTimeout, func(int) bool { return true })
	if err != nil {
		m.err = err
		return m
	}
	run := loadgen.Start(ctx, loadgen.Config{
		URL: "http://" + p.HTTPAddr + "/", Host: appName + ".localhost",
		Conns: conns, Timeout: 10 * time.Second,
	})
	defer func() { m.load = run.Stop() }()
	if err := waitFor(ctx, serveTimeout, func(r loadgen.Result) bool { return r.ByRelease[release(base)] > 0 }, run); err != nil {
		m.err = fmt.Errorf("load never reached v%d: %w", base, err)
		return m
	}
	for i := 1; i <= n; i++ {
		took, err := repo.Push(ctx, i)
		if err != nil {
			m.err = fmt.Errorf("redeploy %d: %w", i, err)
			return m
		}
		end := time.Now()
		m.pushes = append(m.pushes, took)
		want := release(base + i)
		if err := waitFor(ctx, serveTimeout, func(r loadgen.Result) bool { return !r.FirstSeen[want].IsZero() }, run); err != nil {
			m.err = fmt.Errorf("redeploy %d: %s never served: %w", i, want, err)
			return m
		}
		m.switches = append(m.switches, run.Snapshot().FirstSeen[want].Sub(end))
	}
	return m
}

func release(v int) string { return fmt.Sprintf("v%d", v) }

// waitFor polls the run's totals until done holds, ctx ends or limit
// passes.
func waitFor(ctx context.Context, limit time.Duration, done func(loadgen.Result) bool, run *loadgen.Run) error {
	deadline := time.Now().Add(limit)
	for !done(run.Snapshot()) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
