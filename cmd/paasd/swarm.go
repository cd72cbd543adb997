package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/docker/docker/client"

	"paas/deploy"
	"paas/nodes"
	"paas/registry"
	"paas/runtime"
)

// swarmParts are what PAAS_SCHEDULER=swarm adds: the runtime that runs
// apps as the swarm's services, the registry the nodes pull their images
// from, and the node commands' backend.
type swarmParts struct {
	rt    *runtime.Swarm
	nodes *nodes.Nodes
	reg   *registry.Registry
	mgr   *client.Client
	close func()
	// svc is the deploy service, once made: nodes:drain has it move the
	// apps' instances off a node.
	svc atomic.Pointer[deploy.Service]
}

// defaultRegistryPort is the registry's port when PAAS_REGISTRY_ADDR
// names none.
const defaultRegistryPort = "5000"

// setupSwarm starts the registry (data under DATA/registry, its CA
// trusted by the local engine through DockerCertsDir) and the swarm
// runtime over the manager's engine. local is the engine the builds run
// on.
func setupSwarm(ctx context.Context, cfg config, dataDir string, local *client.Client, rcfg runtime.SwarmConfig, log *slog.Logger) (*swarmParts, error) {
	mgr := local
	if cfg.SwarmManager != "" {
		c, err := client.NewClientWithOpts(client.WithHost(cfg.SwarmManager), client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("PAAS_SWARM_MANAGER: %w", err)
		}
		mgr = c
	}
	closeMgr := func() {
		if mgr != local {
			mgr.Close()
		}
	}
	info, err := mgr.Info(ctx)
	if err != nil {
		closeMgr()
		return nil, fmt.Errorf("PAAS_SCHEDULER=swarm: the swarm manager's engine at %s does not answer: %w", mgr.DaemonHost(), err)
	}
	if !info.Swarm.ControlAvailable {
		closeMgr()
		return nil, fmt.Errorf("PAAS_SCHEDULER=swarm: the engine at %s is not a swarm manager (run `docker swarm init` there, or set PAAS_SWARM_MANAGER)", mgr.DaemonHost())
	}
	addr := cfg.RegistryAddr
	if addr == "" {
		addr = net.JoinHostPort(info.Swarm.NodeAddr, defaultRegistryPort)
	}
	// A paasd taking over from a running one listens beside it until
	// it stops: both serve the same directory meanwhile.
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		closeMgr()
		return nil, fmt.Errorf("listening for the image registry on %s (PAAS_REGISTRY_ADDR): %w", addr, err)
	}
	addr = ln.Addr().String()
	reg, err := registry.New(registry.Config{Dir: filepath.Join(dataDir, "registry"), Addr: addr, Log: log.With("part", "registry")})
	if err != nil {
		ln.Close()
		closeMgr()
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- reg.Serve(ln) }()
	stopReg := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		reg.Shutdown(sctx)
		if err := <-served; err != nil {
			log.Error("image registry", "err", err)
		}
	}
	if err := trustRegistry(cfg.DockerCertsDir, addr, reg.CACertPEM()); err != nil {
		stopReg()
		closeMgr()
		return nil, err
	}
	rcfg.Manager, rcfg.Local, rcfg.Registry = mgr, local, reg
	rt, err := runtime.NewSwarm(ctx, rcfg)
	if err != nil {
		stopReg()
		closeMgr()
		return nil, err
	}
	p := &swarmParts{rt: rt, reg: reg, mgr: mgr, close: func() { stopReg(); closeMgr() }}
	nd, err := nodes.New(nodes.Config{
		Manager: mgr, RegistryAddr: addr, RegistryCA: reg.CACertPEM(), Logger: log.With("part", "nodes"),
		Evacuate: func(ctx context.Context, name string) error {
			svc := p.svc.Load()
			if svc == nil {
				return errors.New("paasd is starting")
			}
			return svc.Evacuate(ctx, name, nil)
		},
		Warm: func(ctx context.Context, eng *client.Client) error { return rt.Warm(ctx, eng, cfg.StackImage) },
	})
	if err != nil {
		p.close()
		return nil, err
	}
	p.nodes = nd
	// Every node gets its paas name now, before instances are placed.
	if _, err := nd.List(ctx); err != nil {
		log.Warn("naming the swarm's nodes", "err", err)
	}
	log.Info("scheduler: swarm", "manager", mgr.DaemonHost(), "registry", addr, "nodes", info.Swarm.Nodes)
	return p, nil
}

// trustRegistry writes the registry's CA where the local engine looks
// for the CA of the registry at addr, so that it pushes there.
func trustRegistry(certsDir, addr string, ca []byte) error {
	dir := filepath.Join(certsDir, addr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("trusting the image registry's CA: %w", err)
	}
	file := filepath.Join(dir, "ca.crt")
	if old, err := os.ReadFile(file); err == nil && string(old) == string(ca) {
		return nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("trusting the image registry's CA: %w", err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, ca, 0o644); err != nil {
		return fmt.Errorf("trusting the image registry's CA: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("trusting the image registry's CA: %w", err)
	}
	return nil
}

// registryPruner deletes a pruned build's image from the registry too,
// and sweeps the blobs no image uses any more.
type registryPruner struct {
	reg *registry.Registry
	log *slog.Logger
}

func (p registryPruner) remove(ctx context.Context, app string, build int) {
	if p.reg == nil {
		return
	}
	tag := fmt.Sprintf("b%d", build)
	if err := p.reg.Delete(ctx, "paas/"+app, tag); err != nil {
		p.log.Warn("removing a pruned build from the registry", "app", app, "build", build, "err", err)
		return
	}
	if err := p.reg.GC(ctx); err != nil {
		p.log.Warn("sweeping the registry", "err", err)
	}
}

// refuseSwarmLeftovers fails when the local scheduler would run apps
// that the swarm still runs (as PAAS_SCHEDULER=swarm left them): the
// swarm's services would go on beside the new instances, on networks of
// the same names. It reads the swarm of PAAS_SWARM_MANAGER, else of the
// local engine.
func refuseSwarmLeftovers(ctx context.Context, cfg config, local *client.Client, owner string) error {
	mgr := local
	if cfg.SwarmManager != "" {
		c, err := client.NewClientWithOpts(client.WithHost(cfg.SwarmManager), client.WithAPIVersionNegotiation())
		if err != nil {
			return fmt.Errorf("PAAS_SWARM_MANAGER: %w", err)
		}
		defer c.Close()
		mgr = c
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	apps, err := runtime.SwarmApps(ctx, mgr, owner)
	if err != nil || len(apps) == 0 {
		return nil // no swarm to read: nothing of it to keep apart
	}
	return fmt.Errorf("PAAS_SCHEDULER=local, but the swarm at %s runs %d app(s) of this server as services (%s): "+
		"moving apps back from the swarm is not supported; start paasd with PAAS_SCHEDULER=swarm, "+
		"or remove the services (docker service rm) to start them anew on this engine",
		mgr.DaemonHost(), len(apps), strings.Join(apps, ", "))
}
