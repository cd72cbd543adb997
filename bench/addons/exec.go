package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"paas/bench/internal/paasd"
)

// execHost runs the clients on the host, where exec instances run: the
// URL's client over loopback TCP, the socket client on the service's own
// socket in its data dir.
type execHost struct{}

// pgBin is where Debian's PostgreSQL 15 keeps its programs.
const pgBin = "/usr/lib/postgresql/15/bin"

func (execHost) prepare(ctx context.Context, s *paasd.Server, app string) (func(), error) {
	return func() {}, nil
}

func (execHost) joinInstance(ctx context.Context, app string) error { return nil }

func (execHost) query(ctx context.Context, argv []string) (string, error) {
	if argv[0] == "psql" {
		argv[0] = filepath.Join(pgBin, "psql")
	}
	return run(ctx, "", nil, argv...)
}

func (execHost) pgbench(ctx context.Context, s *paasd.Server, name string, socket bool, password, script string, args []string) (string, error) {
	dir, err := os.MkdirTemp("", "paas-bench-pgbench")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "select1.sql"), []byte(script), 0o644); err != nil {
		return "", err
	}
	var env []string
	if socket {
		u, err := url.Parse(args[len(args)-1])
		if err != nil || u.Port() == "" {
			return "", fmt.Errorf("the service's URL has no port")
		}
		// The socket is in the service's data dir, named after its port.
		env = []string{"PGPASSWORD=" + password}
		args = append([]string{"-h", filepath.Join(s.Dir, "data", "addons", name, "data"), "-p", u.Port(), "-U", "app", "-d", "app"}, args[:len(args)-1]...)
	}
	argv := append([]string{filepath.Join(pgBin, "pgbench"), "-f", "select1.sql", "-l", "--log-prefix=log"}, args...)
	if _, err := run(ctx, dir, env, argv...); err != nil {
		return "", err
	}
	logs, err := filepath.Glob(filepath.Join(dir, "log.*"))
	if err != nil || len(logs) == 0 {
		return "", fmt.Errorf("pgbench wrote no log")
	}
	var all bytes.Buffer
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			return "", err
		}
		all.Write(b)
	}
	return all.String(), nil
}

// run runs argv in dir with env added and returns its output.
func run(ctx context.Context, dir string, env []string, argv ...string) (string, error) {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
