package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"paas"
)

// readyWithin bounds how long Add waits for a joined node to be ready.
const readyWithin = 2 * time.Minute

// Add joins the Docker engine at address to the swarm as a worker and
// waits until it is ready: SwarmJoin on that engine with the manager's
// worker token and address. address is "ssh://user@host[:port]" or a
// unix socket path ("/run/docker.sock", "unix:///run/docker.sock");
// name "" picks one (see defaultName). An ssh:// node is made to trust
// the registry's CA first, then Config.Warm readies it. Progress lines
// go to out (nil: nowhere).
func (n *Nodes) Add(ctx context.Context, address, name string, out io.Writer) (Node, error) {
	if out == nil {
		out = io.Discard
	}
	a, err := parseAddress(address)
	if err != nil {
		return Node{}, err
	}
	if name != "" {
		if err := validateName(name); err != nil {
			return Node{}, err
		}
	}
	eng, err := n.engine(a)
	if err != nil {
		return Node{}, err
	}
	defer eng.Close()
	info, err := eng.Info(ctx)
	if err != nil {
		n.log.Warn("a node's engine does not answer", "address", a.String(), "err", err)
		return Node{}, paas.Errorf("the Docker engine at %s does not answer", a.host())
	}
	if err := n.notInSwarm(ctx, info.Swarm, a); err != nil {
		return Node{}, err
	}
	mgr, err := n.cfg.Manager.Info(ctx)
	if err != nil {
		return Node{}, fmt.Errorf("asking the manager's engine: %w", err)
	}
	if mgr.Swarm.NodeID == "" || !mgr.Swarm.ControlAvailable || len(mgr.Swarm.RemoteManagers) == 0 {
		return Node{}, errors.New("the manager's engine is not a swarm manager")
	}
	sw, err := n.cfg.Manager.SwarmInspect(ctx)
	if err != nil {
		return Node{}, fmt.Errorf("inspecting the swarm: %w", err)
	}

	name, err = n.reserve(ctx, name, info.Name)
	if err != nil {
		return Node{}, err
	}
	defer n.release(name)

	if a.ssh != nil && n.cfg.RegistryAddr != "" {
		fmt.Fprintf(out, "making %s trust the image registry's CA\n", a.host())
	}
	if err := n.trustRegistry(ctx, a); err != nil {
		return Node{}, err
	}
	if n.cfg.Warm != nil {
		fmt.Fprintf(out, "pulling the stack image onto %s\n", a.host())
		if err := n.cfg.Warm(ctx, eng); err != nil {
			n.log.Warn("a joining node did not pull the stack image", "address", a.String(), "err", err)
			fmt.Fprintf(out, "%s did not pull the stack image (its first instances will): %s\n", a.host(), firstLine(nil, err))
		}
	}
	var managers []string
	for _, p := range mgr.Swarm.RemoteManagers {
		if p.NodeID == mgr.Swarm.NodeID {
			managers = append([]string{p.Addr}, managers...)
		} else {
			managers = append(managers, p.Addr)
		}
	}
	fmt.Fprintf(out, "joining %s to the swarm as a worker\n", a.host())
	err = eng.SwarmJoin(ctx, swarm.JoinRequest{
		ListenAddr:  "0.0.0.0:2377",
		RemoteAddrs: managers,
		JoinToken:   sw.JoinTokens.Worker,
	})
	if err != nil {
		n.log.Warn("a node's engine could not join the swarm", "address", a.String(), "err", err)
		return Node{}, paas.Errorf("the Docker engine at %s could not join the swarm: %s", a.host(), firstLine(nil, err))
	}
	joined, err := eng.Info(ctx)
	if err != nil || joined.Swarm.NodeID == "" {
		return Node{}, fmt.Errorf("the swarm node ID of the engine at %s: %v", a.host(), err)
	}
	id := joined.Swarm.NodeID
	if _, err := n.label(ctx, id, map[string]string{NameLabel: name, AddressLabel: a.String()}); err != nil {
		return Node{}, err
	}
	err = poll(ctx, readyWithin, "waiting for node "+name+" to be ready", func() (bool, error) {
		sn, _, err := n.cfg.Manager.NodeInspectWithRaw(ctx, id)
		return err == nil && sn.Status.State == swarm.NodeStateReady, nil
	})
	if err != nil {
		return Node{}, err
	}
	sn, _, err := n.cfg.Manager.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return Node{}, fmt.Errorf("inspecting node %s: %w", id, err)
	}
	fmt.Fprintf(out, "node %s is ready\n", name)
	n.log.Info("node added", "node", name, "id", id, "address", a.String())
	return describe(sn, 0), nil
}

// notInSwarm refuses an engine already in a swarm: this one (naming the
// node it is) or another.
func (n *Nodes) notInSwarm(ctx context.Context, s swarm.Info, a address) error {
	switch s.LocalNodeState {
	case swarm.LocalNodeStateInactive:
		return nil
	case swarm.LocalNodeStateActive, swarm.LocalNodeStatePending:
	default:
		return paas.Errorf("the Docker engine at %s is %s in a swarm: try again once it is settled", a.host(), s.LocalNodeState)
	}
	if s.NodeID != "" {
		list, err := n.named(ctx)
		if err != nil {
			return err
		}
		for _, sn := range list {
			if sn.ID == s.NodeID {
				return paas.Errorf("the Docker engine at %s is already a node named %s", a.host(), sn.Spec.Labels[NameLabel])
			}
		}
	}
	return paas.Errorf("the Docker engine at %s is in another swarm: `docker swarm leave` there first", a.host())
}

// reserve returns the name a new node gets, name or, when "", one made
// of its hostname, held for it until release. A name another node has
// is refused.
func (n *Nodes) reserve(ctx context.Context, name, hostname string) (string, error) {
	list, err := n.named(ctx)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	taken := n.takenLocked(list)
	if name == "" {
		name = defaultName(hostname, taken)
	} else if taken[name] {
		return "", paas.Errorf("a node named %s exists already", name)
	}
	n.reserved[name] = true
	return name, nil
}

// release frees a name reserve held.
func (n *Nodes) release(name string) {
	n.mu.Lock()
	delete(n.reserved, name)
	n.mu.Unlock()
}

// reach returns a client of the engine of node sn at the address it was
// added with, and whether it answers; nil when it has none or does not.
func (n *Nodes) reach(ctx context.Context, sn swarm.Node) *client.Client {
	a, err := parseAddress(sn.Spec.Labels[AddressLabel])
	if err != nil {
		return nil
	}
	eng, err := n.engine(a)
	if err != nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	info, err := eng.Info(pctx)
	if err != nil || info.Swarm.NodeID != sn.ID {
		eng.Close()
		return nil
	}
	return eng
}
