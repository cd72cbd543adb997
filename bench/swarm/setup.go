package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paas/bench/internal/paasd"
	"paas/internal/swarmtest"
)

// swarmStartTimeout bounds forming a test swarm, the engines' starts
// included.
const swarmStartTimeout = 3 * time.Minute

// setup is where paasd runs the apps: a test swarm of Nodes engines, or
// the host's engine (Nodes 0, PAAS_SCHEDULER=local).
type setup struct {
	Name  string
	Nodes int
}

// parseSetups reads -setups: a comma-separated list of "1", "3" (swarms
// of that many nodes) and "local".
func parseSetups(list string) ([]setup, error) {
	var ss []setup
	for _, f := range strings.Split(list, ",") {
		switch strings.TrimSpace(f) {
		case "1":
			ss = append(ss, setup{Name: "swarm, 1 node", Nodes: 1})
		case "3":
			ss = append(ss, setup{Name: "swarm, 3 nodes", Nodes: 3})
		case "local":
			ss = append(ss, setup{Name: "local (docker)", Nodes: 0})
		default:
			return nil, fmt.Errorf("bad -setups %q: want a list of 1, 3 and local", list)
		}
	}
	return ss, nil
}

// deployment is a running paasd of a setup and, for a swarm, the swarm
// under it.
type deployment struct {
	srv *paasd.Server
	sw  *swarmtest.Swarm
	// hostCerts is the host engine's certs.d entry paasd writes for
	// its registry; removed with the swarm.
	hostCerts string
	// formedIn is how long the swarm took to form (0 for local), and
	// startedIn how long the engines, the swarm and paasd took to start.
	formedIn, startedIn time.Duration
}

// deploy starts paasd for st in its own directory of ws.
func deploy(ctx context.Context, ws *paasd.Workspace, st setup) (*deployment, error) {
	start := time.Now()
	d, err := startSetup(ctx, ws, st)
	if err != nil {
		return nil, err
	}
	d.startedIn = time.Since(start)
	return d, nil
}

func startSetup(ctx context.Context, ws *paasd.Workspace, st setup) (*deployment, error) {
	dir := filepath.Join(ws.Root, fmt.Sprintf("srv-%d", st.Nodes))
	if st.Nodes == 0 {
		srv, err := paasd.Start(paasd.Config{Binary: ws.Binary, Dir: dir, Runtime: "docker", Env: []string{"PAAS_SCHEDULER=local"}})
		if err != nil {
			return nil, err
		}
		return &deployment{srv: srv}, nil
	}
	return deploySwarm(ctx, ws.Binary, dir, st.Nodes)
}

// deploySwarm forms a test swarm of n engines (one manager), given the
// stack image from the host's engine, and starts paasd with
// PAAS_SCHEDULER=swarm over it: the host's engine builds, the registry
// listens on the host's address of the swarm's subnet, and each node
// trusts the registry's CA as `nodes:add` makes an ssh node do (these
// engines read an /etc/docker of their own).
func deploySwarm(ctx context.Context, binary, dir string, n int) (d *deployment, err error) {
	sctx, cancel := context.WithTimeout(ctx, swarmStartTimeout)
	defer cancel()
	sw, err := swarmtest.Start(sctx, swarmtest.Config{Nodes: n, Managers: 1, Images: []string{stackImage()}})
	if err != nil {
		return nil, fmt.Errorf("forming a swarm of %d: %w", n, err)
	}
	d = &deployment{sw: sw, formedIn: sw.FormedIn}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.close())
		}
	}()
	ln, err := net.Listen("tcp4", net.JoinHostPort(sw.HostIP, "0"))
	if err != nil {
		return d, fmt.Errorf("finding a port for the registry: %w", err)
	}
	regAddr := ln.Addr().String()
	ln.Close()
	d.hostCerts = filepath.Join("/etc/docker/certs.d", regAddr)
	d.srv, err = paasd.Start(paasd.Config{Binary: binary, Dir: dir, Runtime: "docker", Env: []string{
		"PAAS_SCHEDULER=swarm", "PAAS_SWARM_MANAGER=" + sw.Nodes[0].Host, "PAAS_REGISTRY_ADDR=" + regAddr,
	}})
	if err != nil {
		return d, err
	}
	ca, err := os.ReadFile(filepath.Join(dir, "data", "registry", "ca.crt"))
	if err != nil {
		return d, fmt.Errorf("reading the registry's CA: %w", err)
	}
	for _, node := range sw.Nodes {
		certs := filepath.Join(node.CertsDir(), regAddr)
		if err := os.MkdirAll(certs, 0o755); err != nil {
			return d, err
		}
		if err := os.WriteFile(filepath.Join(certs, "ca.crt"), ca, 0o644); err != nil {
			return d, err
		}
	}
	return d, nil
}

// close stops paasd (destroying its apps), then the swarm, and removes
// the host engine's trust of the registry.
func (d *deployment) close() error {
	var errs []error
	if d.srv != nil {
		errs = append(errs, d.srv.Stop())
	}
	if d.sw != nil {
		errs = append(errs, d.sw.Close())
	}
	if d.hostCerts != "" {
		errs = append(errs, os.RemoveAll(d.hostCerts))
	}
	return errors.Join(errs...)
}

// stackImage is the image apps are built on and run from.
func stackImage() string {
	if v := os.Getenv("PAAS_STACK_IMAGE"); v != "" {
		return v
	}
	return "paas/stack:bookworm"
}
