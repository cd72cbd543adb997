package gateway

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"paas"
	"paas/nodes"
)

// NodeAdmin is what the nodes commands ask of the swarm's membership
// (*nodes.Nodes). Errors meant for the user are *paas.Error.
type NodeAdmin interface {
	// List returns the swarm's nodes.
	List(ctx context.Context) ([]nodes.Node, error)
	// Add joins the engine at address (ssh://USER@HOST[:PORT] or a
	// socket path) as a worker named name ("" picks one), writing
	// progress lines to out, and returns it once ready.
	Add(ctx context.Context, address, name string, out io.Writer) (nodes.Node, error)
	// Drain moves the node's tasks to others and returns once they left.
	Drain(ctx context.Context, name string) error
	// Activate lets a drained node take tasks again.
	Activate(ctx context.Context, name string) error
	// Remove drains the node and takes it out of the swarm.
	Remove(ctx context.Context, name string, out io.Writer) error
}

// errNoSwarm answers the nodes commands on a server that runs no swarm.
var errNoSwarm = paas.Errorf("nodes need the swarm scheduler (PAAS_SCHEDULER=swarm)")

// nodeAdmin returns the server's NodeAdmin, or errNoSwarm.
func (s *Server) nodeAdmin() (NodeAdmin, error) {
	if s.cfg.Nodes == nil {
		return nil, errNoSwarm
	}
	return s.cfg.Nodes, nil
}

// cmdNodes lists the swarm's nodes.
func cmdNodes(s *Server, r *request, _ string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("nodes"))
	}
	na, err := s.nodeAdmin()
	if err != nil {
		return err
	}
	list, err := na.List(r.ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return emptyListing(r, asJSON, "the swarm has no nodes")
	}
	if asJSON {
		out := make([]nodeJSON, 0, len(list))
		for _, n := range list {
			out = append(out, toNodeJSON(n))
		}
		return writeJSON(r, out)
	}
	t := newTable("NAME", "ADDRESS", "ROLE", "STATE", "AVAILABILITY", "TASKS", "CPUS", "MEMORY")
	for _, n := range list {
		role := n.Role
		if n.Leader {
			role += "*"
		}
		t.row(printable(n.Name), printable(n.Addr), printable(role), printable(n.State), printable(n.Availability),
			strconv.Itoa(n.Tasks), strconv.FormatFloat(n.CPUs, 'f', -1, 64), formatBytes(n.Memory))
	}
	return t.write(r.stdout)
}

// cmdNodesAdd joins an engine to the swarm.
func cmdNodesAdd(s *Server, r *request, _ string, args []string) error {
	fl, rest, err := parseFlags(args, map[string]bool{"--name": true})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(lookupCommand("nodes:add"))
	}
	name, named := fl["--name"]
	if named && name == "" {
		return paas.Errorf("--name needs a node name")
	}
	na, err := s.nodeAdmin()
	if err != nil {
		return err
	}
	n, err := na.Add(r.ctx, rest[0], name, r.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Added node %s (%s, %s)\n", printable(n.Name), printable(n.Addr), printable(n.Role))
	return nil
}

// nodeNamed reads the one NAME operand of the command called cmd.
func nodeNamed(s *Server, cmd string, args []string) (NodeAdmin, string, error) {
	_, rest, err := parseFlags(args, nil)
	if err != nil {
		return nil, "", err
	}
	if len(rest) != 1 {
		return nil, "", usageError(lookupCommand(cmd))
	}
	na, err := s.nodeAdmin()
	return na, rest[0], err
}

// cmdNodesDrain moves a node's tasks to other nodes.
func cmdNodesDrain(s *Server, r *request, _ string, args []string) error {
	na, name, err := nodeNamed(s, "nodes:drain", args)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Draining %s...\n", printable(name))
	if err := na.Drain(r.ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Drained %s: its tasks run on other nodes; nodes:activate takes it back\n", printable(name))
	return nil
}

// cmdNodesActivate lets a node take tasks again.
func cmdNodesActivate(s *Server, r *request, _ string, args []string) error {
	na, name, err := nodeNamed(s, "nodes:activate", args)
	if err != nil {
		return err
	}
	if err := na.Activate(r.ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Activated %s: new tasks may run on it\n", printable(name))
	return nil
}

// cmdNodesRemove takes a node out of the swarm.
func cmdNodesRemove(s *Server, r *request, _ string, args []string) error {
	na, name, err := nodeNamed(s, "nodes:remove", args)
	if err != nil {
		return err
	}
	return na.Remove(r.ctx, name, r.stdout)
}

// nodeJSON is one node of `nodes --json`.
type nodeJSON struct {
	Name         string  `json:"name"`
	ID           string  `json:"id"`
	Address      string  `json:"address"`
	Role         string  `json:"role"`
	Leader       bool    `json:"leader"`
	State        string  `json:"state"`
	Availability string  `json:"availability"`
	Tasks        int     `json:"tasks"`
	CPUs         float64 `json:"cpus"`
	Memory       int64   `json:"memory"`
	Engine       *string `json:"engine_version"`
}

func toNodeJSON(n nodes.Node) nodeJSON {
	return nodeJSON{
		Name: n.Name, ID: n.ID, Address: n.Addr, Role: n.Role, Leader: n.Leader, State: n.State,
		Availability: n.Availability, Tasks: n.Tasks, CPUs: n.CPUs, Memory: n.Memory, Engine: jsonString(n.Engine),
	}
}
