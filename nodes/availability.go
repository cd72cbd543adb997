package nodes

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"paas"
)

// drainWithin bounds how long Drain waits for a node's tasks to leave.
const drainWithin = 5 * time.Minute

// Drain sets node name's availability to drain: the swarm moves its
// tasks to other nodes. It returns once none is meant to run there and
// none runs there (or ctx ends).
func (n *Nodes) Drain(ctx context.Context, name string) error {
	sn, err := n.find(ctx, name)
	if err != nil {
		return err
	}
	return n.drain(ctx, sn)
}

func (n *Nodes) drain(ctx context.Context, sn swarm.Node) error {
	name := sn.Spec.Labels[NameLabel]
	if n.cfg.Evacuate != nil && sn.Status.State == swarm.NodeStateReady {
		if _, err := n.update(ctx, sn.ID, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityPause }); err != nil {
			return err
		}
		if err := n.cfg.Evacuate(ctx, name); err != nil {
			msg, _ := paas.UserMessage(err)
			return &paas.Error{Msg: fmt.Sprintf("moving the apps off node %s: %s (the node is left paused: nodes:activate takes it back)", name, msg), Err: err}
		}
	}
	if _, err := n.update(ctx, sn.ID, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityDrain }); err != nil {
		return err
	}
	err := poll(ctx, drainWithin, "waiting for the tasks of node "+name+" to leave it", func() (bool, error) {
		left, err := n.tasksOn(ctx, sn.ID)
		return left == 0, err
	})
	if err != nil {
		return err
	}
	n.log.Info("node drained", "node", name, "id", sn.ID)
	return nil
}

// tasksOn counts the tasks on node id meant to run or running: on a node
// that is down, the swarm cannot see its tasks stop, so only those meant
// to run count.
func (n *Nodes) tasksOn(ctx context.Context, id string) (int, error) {
	sn, _, err := n.cfg.Manager.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("inspecting node %s: %w", id, err)
	}
	tasks, err := n.cfg.Manager.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("node", id))})
	if err != nil {
		return 0, fmt.Errorf("listing the tasks of node %s: %w", id, err)
	}
	up := sn.Status.State == swarm.NodeStateReady
	count := 0
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskStateRunning || up && live(t.Status.State) {
			count++
		}
	}
	return count, nil
}

// live reports whether a task in state s may still run.
func live(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
		swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return false
	}
	return true
}

// Activate sets node name's availability to active: the swarm places
// tasks on it again (it moves none there by itself).
func (n *Nodes) Activate(ctx context.Context, name string) error {
	sn, err := n.find(ctx, name)
	if err != nil {
		return err
	}
	if _, err := n.update(ctx, sn.ID, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityActive }); err != nil {
		return err
	}
	n.log.Info("node activated", "node", name, "id", sn.ID)
	return nil
}

// Remove takes node name out of the swarm: it drains it, makes its
// engine leave the swarm when paasd reaches it at the address it was
// added with, and removes the node (by force when its engine could not
// be told). The manager paasd talks to cannot be removed; another
// manager is demoted first. Progress lines go to out (nil: nowhere).
func (n *Nodes) Remove(ctx context.Context, name string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	sn, err := n.find(ctx, name)
	if err != nil {
		return err
	}
	self, err := n.self(ctx)
	if err != nil {
		return err
	}
	if sn.ID == self {
		return paas.Errorf("node %s is the swarm manager paasd talks to: it cannot be removed", name)
	}
	if sn.Spec.Role == swarm.NodeRoleManager {
		fmt.Fprintf(out, "demoting %s to a worker\n", name)
		if _, err := n.update(ctx, sn.ID, func(s *swarm.NodeSpec) { s.Role = swarm.NodeRoleWorker }); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "draining %s\n", name)
	if err := n.drain(ctx, sn); err != nil {
		return err
	}
	left := false
	if eng := n.reach(ctx, sn); eng != nil {
		err := eng.SwarmLeave(ctx, false)
		eng.Close()
		if err != nil {
			n.log.Warn("a node's engine could not leave the swarm", "node", name, "err", err)
		} else {
			left = true
			fmt.Fprintf(out, "%s's engine left the swarm\n", name)
		}
	}
	if !left {
		sn, _, err = n.cfg.Manager.NodeInspectWithRaw(ctx, sn.ID)
		if err != nil {
			return fmt.Errorf("inspecting node %s: %w", name, err)
		}
		if sn.Status.State == swarm.NodeStateReady {
			fmt.Fprintf(out, "%s's engine was not reached: it still counts itself in the swarm until `docker swarm leave` runs there\n", name)
		}
	}
	if err := n.cfg.Manager.NodeRemove(ctx, sn.ID, swarm.NodeRemoveOptions{Force: true}); err != nil {
		return fmt.Errorf("removing node %s: %w", name, err)
	}
	fmt.Fprintf(out, "removed %s\n", name)
	n.log.Info("node removed", "node", name, "id", sn.ID)
	return nil
}
