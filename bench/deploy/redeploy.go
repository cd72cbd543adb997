package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"paas/loadgen"
)

const (
	appName      = "bench-deploy"
	appSource    = "e2e/testdata/apps/graceful"
	pushTimeout  = 10 * time.Minute
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
func measure(ctx context.Context, p *paasd, runtime string, n, conns int) (m measurement) {
	m.runtime = runtime
	repo, err := newAppRepo(filepath.Join(p.dir, "src"), p)
	if err != nil {
		m.err = err
		return m
	}
	if _, err := repo.push(ctx, 0); err != nil {
		m.err = fmt.Errorf("first push: %w", err)
		return m
	}
	base, err := p.waitServing(ctx)
	if err != nil {
		m.err = err
		return m
	}
	run := loadgen.Start(ctx, loadgen.Config{
		URL: "http://" + p.httpAddr + "/", Host: appName + ".localhost",
		Conns: conns, Timeout: 10 * time.Second,
	})
	defer func() { m.load = run.Stop() }()
	if err := waitFor(ctx, serveTimeout, func(r loadgen.Result) bool { return r.ByRelease[release(base)] > 0 }, run); err != nil {
		m.err = fmt.Errorf("load never reached v%d: %w", base, err)
		return m
	}
	for i := 1; i <= n; i++ {
		took, err := repo.push(ctx, i)
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

// waitServing polls the app through the router until it answers 200 and
// returns the release number it names.
func (p *paasd) waitServing(ctx context.Context) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(serveTimeout)
	last := "no answer"
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.httpAddr+"/", nil)
		if err != nil {
			return 0, err
		}
		req.Host = appName + ".localhost"
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
			var v int
			if i := strings.LastIndex(string(body), " v"); resp.StatusCode == http.StatusOK && i >= 0 {
				if _, err := fmt.Sscanf(string(body[i:]), " v%d", &v); err == nil {
					return v, nil
				}
			}
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s never served through the router (last: %s)", appName, last)
}

// appRepo is a git work tree of the graceful app with paasd as remote.
type appRepo struct {
	dir string
	env []string
}

func newAppRepo(dir string, p *paasd) (*appRepo, error) {
	if err := os.CopyFS(dir, os.DirFS(appSource)); err != nil {
		return nil, fmt.Errorf("copying %s: %w", appSource, err)
	}
	r := &appRepo{dir: dir, env: append(os.Environ(),
		"GIT_SSH_COMMAND="+p.gitSSHCommand(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com",
	)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.git(ctx, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	if err := r.git(ctx, "remote", "add", "paas", "ssh://paas@127.0.0.1:"+p.sshPort+"/"+appName); err != nil {
		return nil, err
	}
	return r, nil
}

// push commits a change numbered i and pushes it, returning how long
// git push took.
func (r *appRepo) push(ctx context.Context, i int) (time.Duration, error) {
	if err := os.WriteFile(filepath.Join(r.dir, "bench.txt"), fmt.Appendf(nil, "%d\n", i), 0o644); err != nil {
		return 0, fmt.Errorf("changing the app: %w", err)
	}
	short, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := r.git(short, "add", "-A"); err != nil {
		return 0, err
	}
	if err := r.git(short, "commit", "-q", "-m", fmt.Sprint("change ", i)); err != nil {
		return 0, err
	}
	long, cancelPush := context.WithTimeout(ctx, pushTimeout)
	defer cancelPush()
	start := time.Now()
	err := r.git(long, "push", "-q", "paas", "main")
	if errors.Is(long.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("git push took over %v: %w", pushTimeout, err)
	}
	return time.Since(start), err
}

func (r *appRepo) git(ctx context.Context, args ...string) error {
	c := exec.CommandContext(ctx, "git", args...)
	c.Dir, c.Env = r.dir, r.env
	c.WaitDelay = 5 * time.Second
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
	}
	return nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
