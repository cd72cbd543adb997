package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/internal/faulttest"
)

func init() { register("engine-restart", engineRestart) }

// engineApps are the apps served through the engine restarts, each
// answering its own name.
var engineApps = []string{"fault-eng-a", "fault-eng-b", "fault-eng-c"}

// engineRestart serves three apps from a paasd next to a Docker engine of
// its own (in a network namespace of its own) and restarts the engine
// (SIGTERM, then start): once without live-restore (the containers stop
// with it and paasd starts them again) and once with (they survive and
// paasd follows them again). Each row is one restart: the time from the
// engine answering again until every app has answered 10 requests in a
// row, and the requests of the per-app pollers from the stop on.
func engineRestart(ctx context.Context, ws *paasd.Workspace) ([]outcome, error) {
	if why := faulttest.Requirement(); why != "" {
		return []outcome{{Note: "not run: " + why}}, nil
	}
	dir, err := os.MkdirTemp("", "paas-eng")
	if err != nil {
		return nil, err
	}
	eng, err := faulttest.NewEngine(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer eng.Close()
	if err := eng.Start(ctx, false); err != nil {
		return nil, err
	}
	image := os.Getenv("PAAS_STACK_IMAGE")
	if image == "" {
		image = "paas/stack:bookworm"
	}
	cache, err := faulttest.StackCache(ctx, image)
	if err != nil {
		return nil, err
	}
	if err := eng.LoadImage(ctx, image, cache); err != nil {
		return nil, err
	}
	srv, err := paasd.Start(paasd.Config{
		Binary: ws.Binary, Dir: filepath.Join(ws.Root, "engine-restart"), Runtime: "docker",
		Wrap: eng.Wrap(),
		Env: []string{"DOCKER_HOST=" + eng.Host, "PAAS_HOST_FIREWALL=off", "PAAS_DOMAIN=localhost",
			"PAAS_SSH_ADDR=" + eng.PeerIP + ":0", "PAAS_HTTP_ADDR=" + eng.PeerIP + ":0"},
	})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	for _, app := range engineApps {
		repo, err := srv.NewRepo(ctx, app, os.DirFS("e2e/testdata/apps/marker"))
		if err != nil {
			return nil, err
		}
		if _, err := repo.Push(ctx, 0); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", app, err)
		}
	}
	pollers := make([]*faulttest.Poller, len(engineApps))
	for i, app := range engineApps {
		pollers[i] = faulttest.Start(ctx, faulttest.Config{URL: "http://" + srv.HTTPAddr + "/", App: app, Domain: "localhost"})
		defer pollers[i].Stop()
	}
	if _, err := engineRecovered(ctx, pollers, time.Now()); err != nil {
		return nil, err
	}

	var outs []outcome
	for _, step := range []struct {
		live     bool
		measured bool
		note     string
	}{
		{false, true, "dockerd stopped and started, no live-restore: containers started again"},
		{true, false, ""}, // turns live-restore on
		{true, true, "dockerd stopped and started, live-restore: containers followed again"},
	} {
		before := engineCounts(pollers)
		stopped := time.Now()
		if err := eng.Stop(); err != nil {
			return nil, err
		}
		if err := eng.Start(ctx, step.live); err != nil {
			return nil, err
		}
		back := time.Now()
		recovery, err := engineRecovered(ctx, pollers, back)
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, srv.Tail())
		}
		if !step.measured {
			continue
		}
		after := engineCounts(pollers)
		outs = append(outs, outcome{
			Recovery: recovery,
			Requests: after.Requests - before.Requests,
			Failed:   after.Failed - before.Failed,
			Wrong:    after.Wrong - before.Wrong,
			Note:     fmt.Sprintf("%s (engine away %s)", step.note, back.Sub(stopped).Round(100*time.Millisecond)),
		})
	}
	if n := strings.Count(srv.Tail(), "panic"); n != 0 {
		return outs, errors.New("paasd panicked:\n" + srv.Tail())
	}
	return outs, nil
}

// engineRecovered waits until every app answered 10 requests in a row
// after since, and returns how long after since the last of them began.
func engineRecovered(ctx context.Context, pollers []*faulttest.Poller, since time.Time) (time.Duration, error) {
	var last time.Duration
	for _, p := range pollers {
		at, err := p.WaitAnswered(ctx, since, 10, 2*time.Minute)
		if err != nil {
			return 0, err
		}
		last = max(last, at.Sub(since))
	}
	return last, nil
}

// engineCounts sums the pollers' tallies.
func engineCounts(pollers []*faulttest.Poller) faulttest.Counts {
	var sum faulttest.Counts
	for _, p := range pollers {
		c := p.Counts()
		sum.Requests += c.Requests
		sum.Failed += c.Failed
		sum.Wrong += c.Wrong
	}
	return sum
}
