package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"paas/bench/internal/paasd"
)

// dockerHost runs the app-side clients in containers that share the
// network namespace of the app's web instance, and the socket client in
// the service's own container.
type dockerHost struct{}

// Sidecar containers: one from each service image, for its client.
const (
	pgSidecar    = "paas-bench-addons-psql"
	redisSidecar = "paas-bench-addons-redis"
)

func (dockerHost) prepare(ctx context.Context, s *paasd.Server, app string) (func(), error) {
	done := func() {
		docker(context.WithoutCancel(ctx), nil, "rm", "-f", pgSidecar, redisSidecar)
	}
	done()
	// On the app's network, which outlives its instances.
	for name, image := range map[string]string{pgSidecar: "paas/postgres:15", redisSidecar: "paas/redis:7"} {
		if err := sidecar(ctx, name, image, "paas-"+app); err != nil {
			done()
			return nil, err
		}
	}
	return done, nil
}

func (dockerHost) joinInstance(ctx context.Context, app string) error {
	id, err := docker(ctx, nil, "ps", "-q", "--filter", "label=paas.app="+app, "--filter", "label=paas.type=web")
	if err != nil {
		return err
	}
	id = strings.TrimSpace(id)
	if id == "" || strings.Contains(id, "\n") {
		return fmt.Errorf("want one web instance of %s, found %q", app, id)
	}
	if _, err := docker(ctx, nil, "rm", "-f", pgSidecar); err != nil {
		return err
	}
	return sidecar(ctx, pgSidecar, "paas/postgres:15", "container:"+id)
}

// sidecar starts a container of image named name on network that runs
// nothing but waits for docker exec.
func sidecar(ctx context.Context, name, image, network string) error {
	_, err := docker(ctx, nil, "run", "-d", "--rm", "--name", name, "--network", network,
		"--entrypoint", "sleep", image, "infinity")
	return err
}

func (dockerHost) query(ctx context.Context, argv []string) (string, error) {
	side := pgSidecar
	if argv[0] == "redis-cli" {
		side = redisSidecar
	}
	return docker(ctx, nil, append([]string{"exec", side}, argv...)...)
}

func (dockerHost) pgbench(ctx context.Context, s *paasd.Server, name string, socket bool, password, script string, args []string) (string, error) {
	where := pgSidecar
	var env []string
	if socket {
		where = "paas.addon." + name
		env = []string{"-e", "PGPASSWORD=" + password}
		args = append([]string{"-h", "/run/postgresql", "-U", "app", "-d", "app"}, args[:len(args)-1]...)
	}
	if _, err := docker(ctx, strings.NewReader(script), "exec", "-i", where, "sh", "-c", "rm -rf /tmp/bench && mkdir /tmp/bench && cat >/tmp/bench/select1.sql"); err != nil {
		return "", err
	}
	run := append([]string{"exec", "-w", "/tmp/bench"}, env...)
	run = append(run, where, "pgbench", "-f", "/tmp/bench/select1.sql", "-l", "--log-prefix=/tmp/bench/log")
	if _, err := docker(ctx, nil, append(run, args...)...); err != nil {
		return "", err
	}
	return docker(ctx, nil, "exec", where, "sh", "-c", "cat /tmp/bench/log*")
}

// docker runs the docker client with stdin and returns its output.
func docker(ctx context.Context, stdin *strings.Reader, args ...string) (string, error) {
	c := exec.CommandContext(ctx, "docker", args...)
	if stdin != nil {
		c.Stdin = stdin
	}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args[:min(len(args), 3)], " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
