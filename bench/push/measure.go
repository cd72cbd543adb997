package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"paas/bench/internal/paasd"
)

type appResult struct {
	cold   time.Duration
	warm   []time.Duration
	config []time.Duration
	// warmLive and configLive run to the first answer of the new
	// release, polled through the router from before the change: the
	// release is live then, before paasd has stopped the old instance
	// and the command returned.
	warmLive, configLive []time.Duration
	// pushPhases and configPhases are the timelines paasd printed for
	// the warm pushes and the config changes.
	pushPhases, configPhases phases
}

// measureApp pushes the test app pushes times and changes its config
// three times, timing each until the new release serves. Each push and
// config change but the first waits gap after the one before served.
func measureApp(ctx context.Context, s *paasd.Server, app string, pushes int, gap time.Duration) (appResult, error) {
	var res appResult
	name := "bench-" + app
	repo, err := s.NewRepo(ctx, name, os.DirFS(filepath.Join("e2e/testdata/apps", app)))
	if err != nil {
		return res, err
	}
	release := 0
	for i := 1; i <= pushes; i++ {
		if i > 1 {
			time.Sleep(gap)
		}
		live := watchRelease(ctx, s, name, release+1, 5*time.Minute)
		took, err := repo.Push(ctx, i)
		if err != nil {
			return res, err
		}
		end := time.Now()
		release++
		if err := waitRelease(ctx, s, name, release, 5*time.Minute); err != nil {
			return res, err
		}
		liveAt, err := live()
		if err != nil {
			return res, err
		}
		if i == 1 {
			res.cold = took + time.Since(end)
		} else {
			res.warm = append(res.warm, took+time.Since(end))
			res.warmLive = append(res.warmLive, liveAt.Sub(repo.Started))
			res.pushPhases.add(repo.Output)
		}
	}
	for i := 0; i < 3; i++ {
		time.Sleep(gap)
		live := watchRelease(ctx, s, name, release+1, time.Minute)
		start := time.Now()
		cmd := fmt.Sprintf("config:set %s BENCH=%d", name, i)
		out, err := exec.CommandContext(ctx, "ssh", s.SSHArgs(cmd)...).CombinedOutput()
		if err != nil {
			return res, fmt.Errorf("ssh %s: %w: %s", cmd, err, out)
		}
		release++
		if err := waitRelease(ctx, s, name, release, time.Minute); err != nil {
			return res, err
		}
		res.config = append(res.config, time.Since(start))
		liveAt, err := live()
		if err != nil {
			return res, err
		}
		res.configLive = append(res.configLive, liveAt.Sub(start))
		res.configPhases.add(string(out))
	}
	return res, nil
}

// watchRelease polls the app through the router, from now on, until
// release vN answers, and returns a function that waits for that and
// says when it was.
func watchRelease(ctx context.Context, s *paasd.Server, app string, v int, limit time.Duration) func() (time.Time, error) {
	type seen struct {
		at  time.Time
		err error
	}
	done := make(chan seen, 1)
	go func() {
		err := waitRelease(ctx, s, app, v, limit)
		done <- seen{time.Now(), err}
	}()
	return func() (time.Time, error) {
		r := <-done
		return r.at, r.err
	}
}

// waitRelease polls the app through the router until release vN answers.
func waitRelease(ctx context.Context, s *paasd.Server, app string, v int, limit time.Duration) error {
	_, err := s.WaitRelease(ctx, app, limit, func(got int) bool { return got == v })
	return err
}
