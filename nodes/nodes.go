// Package nodes owns the membership of the Docker Swarm paas runs apps
// on, as paas sees it: which machines there are, and adding, draining,
// activating and removing them. It talks to a swarm manager's engine
// through the Docker API, and to a new node's engine at the address it
// is added with: a unix socket path on this machine, or ssh://user@host
// (the docker CLI's ssh connection helper runs `docker system
// dial-stdio` there).
//
// The swarm names its nodes by hostname, which several machines may
// share; paas gives each its own name, kept on the node as the label
// paas.name (and the address it was added with as paas.address).
package nodes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"paas"
)

// The labels paas keeps on a swarm node.
const (
	// NameLabel is the node's paas name.
	NameLabel = "paas.name"
	// AddressLabel is the address the node was added with (nodes:add).
	AddressLabel = "paas.address"
)

// Node is one machine of the swarm as `paas nodes` shows it.
type Node struct {
	Name         string  // paas's name for it (unique)
	ID           string  // swarm node ID
	Addr         string  // the address it advertises to the swarm
	Role         string  // "manager" or "worker"
	Leader       bool    // whether it leads the managers
	State        string  // the swarm's: "ready", "down", "unknown", "disconnected"
	Availability string  // "active", "drain", "pause"
	Tasks        int     // running tasks on it
	CPUs         float64 // its CPUs
	Memory       int64   // its memory, in bytes
	Engine       string  // its Docker engine's version
}

// Config is what Nodes needs.
type Config struct {
	// Manager is a client of a swarm manager's engine; required.
	Manager *client.Client
	// RegistryAddr is host:port of paasd's image registry as nodes reach
	// it, RegistryCA its CA certificate (PEM): Add makes an ssh:// node
	// trust it. Both may be empty (no registry).
	RegistryAddr string
	RegistryCA   []byte
	// SSHOptions are added to the ssh command line for ssh:// nodes
	// (such as -i KEY or -o UserKnownHostsFile=FILE); ssh always runs in
	// batch mode: it never asks for a password or a host key.
	SSHOptions []string
	// Evacuate, when set, moves paas's instances off the node named
	// name before Drain or Remove drains it, while the node is paused
	// (it takes no new tasks and keeps its own): paasd replaces each one
	// on another node, checks it and drains the old one first, so that
	// no request fails, which the swarm's own moving of tasks (stop
	// there, then start elsewhere) cannot promise.
	Evacuate func(ctx context.Context, name string) error
	// Warm, when set, readies a joining node's engine before it joins
	// (paasd has it pull the stack image, which every app image shares);
	// a failure is reported and the node joins all the same.
	Warm   func(ctx context.Context, eng *client.Client) error
	Logger *slog.Logger
}

// Nodes manages the swarm's membership.
type Nodes struct {
	cfg Config
	log *slog.Logger

	// mu guards naming: reserved are the names of nodes being added,
	// not yet labelled.
	mu       sync.Mutex
	reserved map[string]bool
}

// New returns Nodes for the swarm cfg.Manager manages.
func New(cfg Config) (*Nodes, error) {
	if cfg.Manager == nil {
		return nil, errors.New("nodes: Config.Manager is required")
	}
	if (cfg.RegistryAddr == "") != (len(cfg.RegistryCA) == 0) {
		return nil, errors.New("nodes: Config.RegistryAddr and RegistryCA go together")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Nodes{cfg: cfg, log: cfg.Logger, reserved: map[string]bool{}}, nil
}

// nameRe is the rule of node names, that of app names.
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)

// validateName returns a user-facing error when name is not a valid
// node name.
func validateName(name string) error {
	if !nameRe.MatchString(name) {
		return paas.Errorf("invalid node name %q: use a lower-case letter followed by up to 29 lower-case letters, digits or dashes", name)
	}
	return nil
}

// List returns the swarm's nodes, oldest first. A node without a paas
// name gets one now (see defaultName), written as its label.
func (n *Nodes) List(ctx context.Context) ([]Node, error) {
	list, err := n.named(ctx)
	if err != nil {
		return nil, err
	}
	tasks, err := n.cfg.Manager.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, fmt.Errorf("listing the swarm's tasks: %w", err)
	}
	running := map[string]int{}
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStateRunning && t.DesiredState == swarm.TaskStateRunning {
			running[t.NodeID]++
		}
	}
	out := make([]Node, 0, len(list))
	for _, sn := range list {
		out = append(out, describe(sn, running[sn.ID]))
	}
	return out, nil
}

// describe is the Node of a swarm node with tasks running tasks.
func describe(sn swarm.Node, tasks int) Node {
	return Node{
		Name:         sn.Spec.Labels[NameLabel],
		ID:           sn.ID,
		Addr:         sn.Status.Addr,
		Role:         string(sn.Spec.Role),
		Leader:       sn.ManagerStatus != nil && sn.ManagerStatus.Leader,
		State:        string(sn.Status.State),
		Availability: string(sn.Spec.Availability),
		Tasks:        tasks,
		CPUs:         float64(sn.Description.Resources.NanoCPUs) / 1e9,
		Memory:       sn.Description.Resources.MemoryBytes,
		Engine:       sn.Description.Engine.EngineVersion,
	}
}

// named lists the swarm's nodes, oldest first, each labelled with its
// paas name: those without one, or with the name of an older node (a
// label set by hand), get one now.
func (n *Nodes) named(ctx context.Context) ([]swarm.Node, error) {
	list, err := n.cfg.Manager.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the swarm's nodes: %w", err)
	}
	sortNodes(list)
	seen := map[string]bool{}
	var unnamed []int
	for i, sn := range list {
		name := sn.Spec.Labels[NameLabel]
		if validateName(name) != nil || seen[name] {
			unnamed = append(unnamed, i)
			continue
		}
		seen[name] = true
	}
	if len(unnamed) == 0 {
		return list, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	taken := n.takenLocked(list)
	for _, i := range unnamed {
		name := defaultName(list[i].Description.Hostname, taken)
		updated, err := n.label(ctx, list[i].ID, map[string]string{NameLabel: name})
		if err != nil {
			return nil, err
		}
		taken[name] = true
		list[i] = updated
	}
	return list, nil
}

// sortNodes sorts nodes oldest first (then by ID).
func sortNodes(list []swarm.Node) {
	slices.SortFunc(list, func(a, b swarm.Node) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

// takenLocked are the names of list's nodes and the reserved ones.
func (n *Nodes) takenLocked(list []swarm.Node) map[string]bool {
	taken := map[string]bool{}
	for _, sn := range list {
		if name := sn.Spec.Labels[NameLabel]; name != "" {
			taken[name] = true
		}
	}
	for name := range n.reserved {
		taken[name] = true
	}
	return taken
}

// defaultName is the name a node of hostname gets: the host's name (its
// first label, made a valid name), or, when a node has it already,
// that name with -2, -3... added.
func defaultName(hostname string, taken map[string]bool) string {
	base := hostname
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	base = paas.UserNameFrom(base)
	if hostname == "" || validateName(base) != nil {
		base = "node"
	}
	if !taken[base] {
		return base
	}
	for i := 2; ; i++ {
		suffix := fmt.Sprintf("-%d", i)
		name := strings.TrimRight(base[:min(len(base), 30-len(suffix))], "-") + suffix
		if !taken[name] {
			return name
		}
	}
}

// label sets labels on the node id (keeping its others) and returns the
// node as updated. A concurrent change of the node is met by reading it
// again.
func (n *Nodes) label(ctx context.Context, id string, labels map[string]string) (swarm.Node, error) {
	return n.update(ctx, id, func(spec *swarm.NodeSpec) {
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		for k, v := range labels {
			spec.Labels[k] = v
		}
	})
}

// update changes the spec of node id with change and returns the node
// as updated. The swarm refuses an update of a version that is no
// longer current: the node is read again and the change made anew.
func (n *Nodes) update(ctx context.Context, id string, change func(*swarm.NodeSpec)) (swarm.Node, error) {
	for attempt := 1; ; attempt++ {
		sn, _, err := n.cfg.Manager.NodeInspectWithRaw(ctx, id)
		if err != nil {
			return swarm.Node{}, fmt.Errorf("inspecting node %s: %w", id, err)
		}
		spec := sn.Spec
		change(&spec)
		err = n.cfg.Manager.NodeUpdate(ctx, id, sn.Version, spec)
		if err == nil {
			sn, _, err = n.cfg.Manager.NodeInspectWithRaw(ctx, id)
			if err != nil {
				return swarm.Node{}, fmt.Errorf("inspecting node %s: %w", id, err)
			}
			return sn, nil
		}
		if attempt == 5 || !strings.Contains(err.Error(), "update out of sequence") {
			return swarm.Node{}, fmt.Errorf("updating node %s: %w", id, err)
		}
	}
}

// find returns the swarm node paas names name; an unknown (or invalid)
// name is a user-facing error.
func (n *Nodes) find(ctx context.Context, name string) (swarm.Node, error) {
	if err := validateName(name); err != nil {
		return swarm.Node{}, err
	}
	list, err := n.named(ctx)
	if err != nil {
		return swarm.Node{}, err
	}
	for _, sn := range list {
		if sn.Spec.Labels[NameLabel] == name {
			return sn, nil
		}
	}
	return swarm.Node{}, paas.Errorf("no node named %s: `paas nodes` lists them", name)
}

// self is the swarm node ID of the manager paasd talks to.
func (n *Nodes) self(ctx context.Context) (string, error) {
	info, err := n.cfg.Manager.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("asking the manager's engine: %w", err)
	}
	if info.Swarm.NodeID == "" || !info.Swarm.ControlAvailable {
		return "", errors.New("the manager's engine is not a swarm manager")
	}
	return info.Swarm.NodeID, nil
}

// poll calls check every interval until it returns true or an error, or
// ctx ends or within passes; what says what was awaited, for the error.
func poll(ctx context.Context, within time.Duration, what string, check func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := check()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s", what, within)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
