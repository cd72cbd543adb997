package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"paas/bench/internal/paasd"
	"paas/loadgen"
)

// killRounds is how many deploys kill-deploy interrupts per runtime.
var killRounds = map[string]int{"exec": 8, "docker": 3}

func init() { register("kill-deploy", killDeploy) }

// killDeploy kills paasd with SIGKILL at a random moment of a deploy
// (receiving, building, starting, switching, draining: the moment is
// drawn over the length of an undisturbed push), starts it again on the
// same data and ports, and measures the time from the kill until the app
// answers again, the requests that failed meanwhile (the router is part
// of paasd: every request fails while it is down) and whether the next
// push, acknowledged as live, is what is served after the next kill.
func killDeploy(ctx context.Context, ws *paasd.Workspace) ([]outcome, error) {
	var outs []outcome
	for _, rt := range []string{"exec", "docker"} {
		o, err := killRuntime(ctx, ws, rt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rt, err)
		}
		outs = append(outs, o)
	}
	return outs, nil
}

func killRuntime(ctx context.Context, ws *paasd.Workspace, rt string) (outcome, error) {
	const app = "bench-kill"
	s, err := ws.Start(rt)
	if err != nil {
		if rt == "docker" {
			return outcome{Note: "docker: not run: " + err.Error()}, nil
		}
		return outcome{}, err
	}
	defer func() { s.Stop() }()
	pinned := []string{"PAAS_SSH_ADDR=127.0.0.1:" + s.SSHPort, "PAAS_HTTP_ADDR=" + s.HTTPAddr}
	repo, err := s.NewRepo(ctx, app, os.DirFS("e2e/testdata/apps/graceful"))
	if err != nil {
		return outcome{}, err
	}
	took, err := repo.Push(ctx, 0)
	if err != nil {
		return outcome{}, fmt.Errorf("first push: %w\n%s", err, s.Tail())
	}
	live, err := s.WaitRelease(ctx, app, 2*time.Minute, func(int) bool { return true })
	if err != nil {
		return outcome{}, err
	}
	run := loadgen.Start(ctx, loadgen.Config{URL: "http://" + s.HTTPAddr + "/", Host: app + ".localhost", Conns: 2, Timeout: 5 * time.Second})
	var o outcome
	for i := 1; i <= killRounds[rt]; i++ {
		pushed := make(chan error, 1)
		go func() { _, err := repo.Push(ctx, 2*i-1); pushed <- err }()
		time.Sleep(time.Duration(rand.Int64N(int64(took))))
		s.Kill()
		killed := time.Now()
		<-pushed
		if s, err = ws.Start(rt, pinned...); err != nil {
			run.Stop()
			return outcome{}, fmt.Errorf("restarting after kill %d: %w", i, err)
		}
		// What answers is a release that went live: the last acknowledged
		// one or, when the killed deploy had switched and been recorded
		// before the kill, the one after it.
		v, err := s.WaitRelease(ctx, app, 2*time.Minute, func(int) bool { return true })
		if err != nil {
			run.Stop()
			return outcome{}, fmt.Errorf("after kill %d: %w\n%s", i, err, s.Tail())
		}
		o.Recovery = max(o.Recovery, time.Since(killed))
		if v < live {
			o.Lost++
		}
		live = v
		// The lock is free: the next push goes live.
		if _, err := repo.Push(ctx, 2*i); err != nil {
			run.Stop()
			return outcome{}, fmt.Errorf("push after kill %d: %w\n%s", i, err, s.Tail())
		}
		if live, err = s.WaitRelease(ctx, app, 2*time.Minute, func(v int) bool { return v > live }); err != nil {
			run.Stop()
			return outcome{}, fmt.Errorf("after the push after kill %d: %w", i, err)
		}
		o.Acked++
	}
	res := run.Stop()
	o.Requests, o.Failed = int(res.Requests), int(res.Failures)
	o.Note = fmt.Sprintf("%s: %d kills at random points of a push; recovery is the slowest kill to answering", rt, killRounds[rt])
	return o, nil
}
