package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"paas/bench/internal/paasd"
	"paas/internal/faultapps"
)

// noisy-neighbour: one app misbehaves on purpose next to a calm one, on
// each runtime: a fork bomb, a memory hog, a log flood, and 5000
// connections held open to the router from one address. For each, the
// calm app is polled through the router (a new connection per request,
// 10s per request) while the attack lasts; a row gives its requests,
// failures and p99 latency, how long `apps` took over SSH, and the time
// until the attacker was contained (stopped at its limit) as recovery.
func init() { register("noisy-neighbour", runNoisy) }

// noisyWindow is how long the neighbour is polled under each attack.
const noisyWindow = 15 * time.Second

func runNoisy(ctx context.Context, ws *paasd.Workspace) ([]outcome, error) {
	var outs []outcome
	for _, rt := range []string{"exec", "docker"} {
		o, err := noisyRuntime(ctx, ws, rt)
		outs = append(outs, o...)
		if err != nil {
			return outs, fmt.Errorf("%s: %w", rt, err)
		}
	}
	return outs, nil
}

// noisyRuntime runs every attack on one paasd of runtime rt.
func noisyRuntime(ctx context.Context, ws *paasd.Workspace, rt string) (outs []outcome, err error) {
	srv, err := ws.Start(rt, "PAAS_LOG_RETENTION=1m")
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil && err == nil {
			err = serr
		}
		os.RemoveAll(srv.Dir)
	}()
	const calm = "bench-calm"
	if err := noisyPush(ctx, srv, calm, "web: python3 server.py "+calm+"\n", faultapps.Calm); err != nil {
		return nil, err
	}
	for _, attack := range []string{"forkbomb", "memory", "logflood", "connflood"} {
		o, err := noisyAttack(ctx, srv, rt, calm, attack)
		if err != nil {
			return outs, fmt.Errorf("%s: %w", attack, err)
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// noisyPush pushes a one-file python app.
func noisyPush(ctx context.Context, srv *paasd.Server, app, procfile, server string) error {
	repo, err := srv.NewRepo(ctx, app, fstest.MapFS{
		"Procfile":  {Data: []byte(procfile), Mode: 0o644},
		"server.py": {Data: []byte(server), Mode: 0o644},
	})
	if err != nil {
		return err
	}
	if _, err := repo.Push(ctx, 1); err != nil {
		return fmt.Errorf("pushing %s: %w\n%s", app, err, srv.Tail())
	}
	return nil
}

// noisyAttack deploys the attacker, waits until it is contained, polls
// the neighbour through the attack, and destroys the attacker.
func noisyAttack(ctx context.Context, srv *paasd.Server, rt, calm, attack string) (outcome, error) {
	app := "bench-" + attack
	if err := noisyPush(ctx, srv, app, "web: python3 server.py "+attack+"\n", faultapps.Noisy); err != nil {
		return outcome{}, err
	}
	began := time.Now()
	floodCtx, stopFlood := context.WithCancel(ctx)
	var flood sync.WaitGroup
	defer func() { stopFlood(); flood.Wait() }()
	if attack == "connflood" {
		for range 5000 {
			flood.Go(func() { faultapps.Hold(floodCtx, srv.HTTPAddr, app) })
		}
	}
	stop := noisyPoll(ctx, srv.HTTPAddr, calm)
	contained, how := noisyContained(ctx, srv, app, attack)
	recovery := time.Since(began)
	// Poll the neighbour for the rest of the window.
	if rest := noisyWindow - time.Since(began); rest > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(rest):
		}
	}
	t0 := time.Now()
	_, appsErr := srv.SSH(ctx, "apps")
	appsTook := time.Since(t0)
	st := stop()
	stopFlood()
	flood.Wait()
	if _, err := srv.SSH(ctx, "apps:destroy "+app+" --confirm "+app); err != nil {
		return outcome{}, err
	}
	note := fmt.Sprintf("%s %s: %s; neighbour p99 %v; apps %v", rt, attack, how, st.p99.Round(time.Millisecond), appsTook.Round(time.Millisecond))
	if appsErr != nil {
		note += "; apps FAILED"
	}
	if !contained {
		recovery = 0
		note += " (attacker NOT contained)"
	}
	return outcome{Recovery: recovery, Requests: st.requests, Failed: st.failed, Note: note}, nil
}

// noisyContained waits (up to two minutes) until the attacker is stopped at
// its limit and says how; for the floods, which have no limit of the
// attacker's to reach, it returns at once.
func noisyContained(ctx context.Context, srv *paasd.Server, app, attack string) (bool, string) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		switch attack {
		case "forkbomb":
			var forked, refused int
			if body, ok := noisyGet(srv.HTTPAddr, app); ok {
				fmt.Sscanf(body, "forked=%d refused=%d", &forked, &refused)
				if refused > 0 {
					return true, fmt.Sprintf("refused after %d forks", forked)
				}
				if forked >= 3000 {
					return false, "3000 forks, never refused"
				}
			}
		case "memory":
			logs, _ := srv.SSH(ctx, "logs "+app+" -n 1000")
			if strings.Count(logs, "hog started") >= 2 {
				return true, "stopped at its limit and restarted"
			}
		case "logflood":
			return true, "PAAS_LOG_RETENTION=1m"
		case "connflood":
			return true, "5000 connections from one address"
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false, "not stopped within 2m"
}

// noisyStats is what a neighbour poller saw.
type noisyStats struct {
	requests, failed int
	p99              time.Duration
}

// noisyPoll requests app through the router, one new connection per request,
// until the returned stop is called.
func noisyPoll(ctx context.Context, addr, app string) (stop func() noisyStats) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan noisyStats, 1)
	go func() {
		var st noisyStats
		var lat []time.Duration
		for ctx.Err() == nil {
			t0 := time.Now()
			body, ok := noisyGet(addr, app)
			st.requests++
			if f := strings.Fields(body); ok && len(f) > 0 && f[0] == app {
				lat = append(lat, time.Since(t0))
			} else {
				st.failed++
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		slices.Sort(lat)
		if len(lat) > 0 {
			st.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		}
		done <- st
	}()
	return func() noisyStats { cancel(); return <-done }
}

// noisyGet fetches / of app on a new connection within 10s.
func noisyGet(addr, app string) (string, bool) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = app + ".localhost"
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err == nil && resp.StatusCode == 200
}
