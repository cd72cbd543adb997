package main

import (
	"context"
	"fmt"
	"time"

	"paas/bench/internal/paasd"
)

// pushLimit bounds one push's wait for its release to answer.
const pushLimit = 5 * time.Minute

// pushResult is the push-to-serving time of the first (cold) push and
// of the warm ones: those whose instance ran on a node that had run
// the app before (or on the local host), and those on a node new to it.
type pushResult struct {
	cold          time.Duration
	warm, newNode []time.Duration
}

// measurePushes pushes repo to app pushes times, each with a changed
// commit, and times each from git push start until release vN answers
// through the router. The app's only releases are these pushes, and it
// runs web=1 throughout.
func measurePushes(ctx context.Context, srv *paasd.Server, repo *paasd.Repo, app string, pushes int, seen nodeHistory) (pushResult, error) {
	var res pushResult
	for i := 1; i <= pushes; i++ {
		took, err := repo.Push(ctx, i)
		if err != nil {
			return res, fmt.Errorf("push %d: %w", i, err)
		}
		end := time.Now()
		if _, err := srv.WaitRelease(ctx, app, pushLimit, func(v int) bool { return v == i }); err != nil {
			return res, fmt.Errorf("push %d: %w", i, err)
		}
		d := took + time.Since(end)
		ins, err := ps(ctx, srv, app, "web")
		if err != nil {
			return res, err
		}
		fresh := seen.learn(ins)
		switch {
		case i == 1:
			res.cold = d
		case fresh:
			res.newNode = append(res.newNode, d)
		default:
			res.warm = append(res.warm, d)
		}
	}
	return res, nil
}
