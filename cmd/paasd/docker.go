package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/client"

	"paas/builder"
	"paas/netguard"
	"paas/runtime"
	"paas/stack"
)

// dockerClient connects to the engine named by DOCKER_HOST (or the default
// socket) and checks that it answers.
func dockerClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// pickRuntime decides between docker and exec. It returns the engine's
// client when docker is chosen.
func pickRuntime(ctx context.Context, cfg config, log *slog.Logger) (*client.Client, error) {
	if cfg.Runtime == "exec" {
		log.Info("runtime: exec (instances are processes on this host)")
		return nil, nil
	}
	cli, err := dockerClient(ctx)
	if err != nil {
		if cfg.Runtime == "docker" {
			return nil, fmt.Errorf("PAAS_RUNTIME=docker but no Docker engine answers: %w", err)
		}
		log.Info("runtime: exec (no Docker engine answers)", "reason", err.Error())
		return nil, nil
	}
	v, _ := cli.ServerVersion(ctx)
	log.Info("runtime: docker", "engine", v.Version, "api", cli.ClientVersion(), "host", cli.DaemonHost())
	return cli, nil
}

// hostGuard sets up the host firewall that keeps containers from this
// host's own ports (PAAS_HOST_FIREWALL), and guards again the bridges of
// the networks paas made earlier. Without iptables paasd does not start:
// it would run apps that reach its SSH port and everything else the host
// serves.
func hostGuard(ctx context.Context, cfg config, cli *client.Client, log *slog.Logger) (*netguard.Guard, error) {
	if !cfg.HostFirewall {
		log.Warn("PAAS_HOST_FIREWALL=off: containers can reach every port this host listens on")
		return nil, nil
	}
	const hint = "; set PAAS_HOST_FIREWALL=off to run without it"
	g, err := netguard.New(ctx, log.With("part", "netguard"))
	if errors.Is(err, netguard.ErrNoIptables) {
		log.Error("iptables is not installed: the docker runtime needs it to keep containers from this host's ports")
		return nil, fmt.Errorf("docker runtime: iptables is not installed (apt-get install iptables)%s", hint)
	}
	if err != nil {
		return nil, fmt.Errorf("docker runtime: setting up the host firewall: %w%s", err, hint)
	}
	n, err := g.Sync(ctx, cli, runtime.LabelManaged+"=true")
	if err != nil {
		return nil, fmt.Errorf("docker runtime: guarding the bridges of paas networks: %w%s", err, hint)
	}
	log.Info("host firewall: containers cannot reach this host's ports", "chain", netguard.Chain, "bridges", n)
	return g, nil
}

// stackBuilder makes sure the stack image exists before a build runs in
// it, building it (once, with a message to the pusher) when it is missing.
type stackBuilder struct {
	*builder.Builder
	cli     *client.Client
	image   string
	workDir string
	// registry, under the swarm scheduler, also removes pruned builds'
	// images from the nodes' registry.
	registry registryPruner
}

// RemoveBuild deletes a build's image, here and in the registry.
func (b stackBuilder) RemoveBuild(ctx context.Context, app string, build int) error {
	if err := b.Builder.RemoveBuild(ctx, app, build); err != nil {
		return err
	}
	b.registry.remove(ctx, app, build)
	return nil
}

// Build implements deploy.Builder.
func (b stackBuilder) Build(ctx context.Context, req builder.Request) (builder.Result, error) {
	if err := stack.Ensure(ctx, b.cli, stack.Options{Image: b.image, Out: req.Out, WorkDir: b.workDir}); err != nil {
		return builder.Result{}, err
	}
	return b.Builder.Build(ctx, req)
}

// stackCommand serves `paasd stack:build [--force]`.
func stackCommand(cfg config, args []string, stdout, stderr io.Writer) int {
	force := len(args) == 1 && args[0] == "--force"
	if len(args) > 1 || (len(args) == 1 && !force) {
		fmt.Fprintln(stderr, "paasd: usage: paasd stack:build [--force]")
		return 2
	}
	ctx := context.Background()
	cli, err := dockerClient(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "paasd: stack:build needs a Docker engine: %v\n", err)
		return 1
	}
	defer cli.Close()
	work := filepath.Join(cfg.DataDir, "tmp")
	if err := os.MkdirAll(work, 0o700); err != nil {
		fmt.Fprintf(stderr, "paasd: %v\n", err)
		return 1
	}
	if err := stack.Build(ctx, cli, stack.Options{Image: cfg.StackImage, Out: stdout, Force: force, WorkDir: work}); err != nil {
		fmt.Fprintf(stderr, "paasd: %v\n", err)
		return 1
	}
	return 0
}
