package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"paas/bench/internal/paasd"
)

const (
	// scaleLimit bounds a scale's wait for its instances.
	scaleLimit = 3 * time.Minute
	// pollEvery is the pause between two polls of the router or of ps.
	pollEvery = 10 * time.Millisecond
)

// scaleResult is the time of each ps:scale round, those that started
// an instance on a node new to the app apart.
type scaleResult struct {
	warm, newNode []time.Duration
}

// measureScale times, rounds times, `ps:scale web=3` from web=1 until
// web.1, web.2 and web.3 each answered through the router. Between
// rounds the app is scaled back to web=1 and left until ps lists one
// web instance; after the last it runs web=3.
func measureScale(ctx context.Context, srv *paasd.Server, app string, rounds int, seen nodeHistory) (scaleResult, error) {
	var res scaleResult
	for r := range rounds {
		if r > 0 {
			if err := scaleDown(ctx, srv, app); err != nil {
				return res, err
			}
		}
		start := time.Now()
		if _, err := srv.SSH(ctx, "ps:scale "+app+" web=3"); err != nil {
			return res, err
		}
		if err := waitAnswering(ctx, srv, app, []string{"web.1", "web.2", "web.3"}); err != nil {
			return res, err
		}
		d := time.Since(start)
		ins, err := ps(ctx, srv, app, "web")
		if err != nil {
			return res, err
		}
		if seen.learn(ins) {
			res.newNode = append(res.newNode, d)
		} else {
			res.warm = append(res.warm, d)
		}
	}
	return res, nil
}

// scaleDown scales app to web=1 and waits until ps lists web.1 alone,
// up.
func scaleDown(ctx context.Context, srv *paasd.Server, app string) error {
	if _, err := srv.SSH(ctx, "ps:scale "+app+" web=1"); err != nil {
		return err
	}
	deadline := time.Now().Add(scaleLimit)
	for {
		ins, err := ps(ctx, srv, app, "web")
		if err != nil {
			return err
		}
		if len(ins) == 1 && ins[0].State == "up" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still %v %s after ps:scale web=1", app, ins, scaleLimit)
		}
		time.Sleep(pollEvery)
	}
}

// waitAnswering polls app through the router until each of the
// instances named answered at least once.
func waitAnswering(ctx context.Context, srv *paasd.Server, app string, names []string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	seen := map[string]bool{}
	deadline := time.Now().Add(scaleLimit)
	last := "no answer"
	for len(seen) < len(names) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: only %v of %v answered within %s (last: %s)", app, seen, names, scaleLimit, last)
		}
		who, err := ask(ctx, client, srv, app)
		if err != nil {
			last = err.Error()
			time.Sleep(pollEvery)
			continue
		}
		for _, n := range names {
			if who == n {
				seen[n] = true
			}
		}
	}
	return nil
}

// ask sends GET / for app through the router and returns the instance
// the answer names (its word "TYPE.N").
func ask(ctx context.Context, client *http.Client, srv *paasd.Server, app string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.HTTPAddr+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = app + ".localhost"
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	for _, f := range strings.Fields(string(b)) {
		if strings.HasPrefix(f, "web.") {
			return f, nil
		}
	}
	return "", fmt.Errorf("an answer naming no instance: %q", b)
}
