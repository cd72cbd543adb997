package paasd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	gitTimeout  = time.Minute      // a local git command
	pushTimeout = 10 * time.Minute // git push, the build included
)

// Repo is a git work tree of an app with the server as its remote "paas".
type Repo struct {
	Dir string
	// Output is what the last Push printed, paasd's remote lines
	// included.
	Output string
	// Started is when the last Push started git push.
	Started time.Time
	env     []string
}

// NewRepo copies src into the directory src-APP of the server's and
// makes it a git repository whose remote "paas" is app on the server.
func (s *Server) NewRepo(ctx context.Context, app string, src fs.FS) (*Repo, error) {
	dir := filepath.Join(s.Dir, "src-"+app)
	if err := os.CopyFS(dir, src); err != nil {
		return nil, fmt.Errorf("copying the app into %s: %w", dir, err)
	}
	r := &Repo{Dir: dir, env: s.gitEnv()}
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	if err := r.git(ctx, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	if err := r.git(ctx, "remote", "add", "paas", s.remote(app)); err != nil {
		return nil, err
	}
	return r, nil
}

// Push commits a change numbered i (the file bench.txt) and pushes it,
// returning how long git push took.
func (r *Repo) Push(ctx context.Context, i int) (time.Duration, error) {
	if err := os.WriteFile(filepath.Join(r.Dir, "bench.txt"), fmt.Appendf(nil, "%d\n", i), 0o644); err != nil {
		return 0, fmt.Errorf("changing the app: %w", err)
	}
	short, cancel := context.WithTimeout(ctx, gitTimeout)
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
	r.Started = start
	c := exec.CommandContext(long, "git", "push", "paas", "main")
	c.Dir, c.Env = r.Dir, r.env
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	r.Output = string(out)
	if err != nil {
		err = fmt.Errorf("git push: %w\n%s", err, lastLines(r.Output, 20))
	}
	if errors.Is(long.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("git push took over %v: %w", pushTimeout, err)
	}
	return time.Since(start), err
}

func (r *Repo) git(ctx context.Context, args ...string) error {
	c := exec.CommandContext(ctx, "git", args...)
	c.Dir, c.Env = r.Dir, r.env
	c.WaitDelay = 5 * time.Second
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	return nil
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
