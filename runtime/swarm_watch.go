package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// ErrNodeDown is the error of an instance's exit when the node that ran
// it stopped answering the swarm.
var ErrNodeDown = errors.New("its node went down")

// ErrTaskGone is the error of an instance's exit when its service or
// task vanished from the swarm without paasd removing it.
var ErrTaskGone = errors.New("its task is gone from the swarm")

// swarmStartTimeout bounds how long an instance's task may take to run
// (its node pulls the image first); swarmUnplaced how long the swarm may
// find no node for it.
const (
	swarmStartTimeout = 5 * time.Minute
	swarmUnplaced     = 15 * time.Second
)

// taskEnded tells whether a task in state st will never run again.
func taskEnded(st swarm.TaskState) bool {
	switch st {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
		swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return true
	}
	return false
}

// taskExitCode is the exit status of an ended task's container, -1 when
// it has none.
func taskExitCode(t swarm.Task) int {
	if t.Status.ContainerStatus != nil && (t.Status.State == swarm.TaskStateComplete || t.Status.State == swarm.TaskStateFailed) {
		return t.Status.ContainerStatus.ExitCode
	}
	return -1
}

// waitRunning waits until service id's task runs and, for a web instance
// (port > 0), its port is published on its node; it returns the task
// and the address the router reaches it at.
func (s *Swarm) waitRunning(ctx context.Context, id string, port int) (swarm.Task, string, error) {
	ctx, cancel := context.WithTimeout(ctx, swarmStartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var unplacedSince time.Time
	for {
		ts, err := s.mgr.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
		if err != nil && ctx.Err() == nil {
			return swarm.Task{}, "", fmt.Errorf("listing the service's tasks: %w", err)
		}
		if len(ts) > 0 {
			t := ts[0]
			for _, o := range ts[1:] {
				if o.Meta.CreatedAt.After(t.Meta.CreatedAt) {
					t = o
				}
			}
			switch {
			case t.Status.State == swarm.TaskStateRunning:
				if port == 0 {
					return t, "", nil
				}
				if addr, err := s.taskAddr(ctx, t, port); err != nil {
					return swarm.Task{}, "", err
				} else if addr != "" {
					return t, addr, nil
				}
			case taskEnded(t.Status.State):
				if code := taskExitCode(t); code >= 0 {
					return swarm.Task{}, "", fmt.Errorf("exited at start with status %d%s", code, ExitHint(code))
				}
				return swarm.Task{}, "", fmt.Errorf("the swarm could not run it: %s", taskProblem(t))
			case t.Status.State == swarm.TaskStatePending && t.Status.Err != "":
				if unplacedSince.IsZero() {
					unplacedSince = time.Now()
				} else if time.Since(unplacedSince) > swarmUnplaced {
					return swarm.Task{}, "", fmt.Errorf("the swarm has no node for it: %s", t.Status.Err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return swarm.Task{}, "", fmt.Errorf("waiting for its task to run: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// taskProblem is the swarm's word on why a task did not run.
func taskProblem(t swarm.Task) string {
	if t.Status.Err != "" {
		return t.Status.Err
	}
	if t.Status.Message != "" {
		return t.Status.Message
	}
	return string(t.Status.State)
}

// taskAddr returns where a running task's port is published: its node's
// address and the port the node picked in that address's family; ""
// while not published yet.
func (s *Swarm) taskAddr(ctx context.Context, t swarm.Task, port int) (string, error) {
	ports := publishedPorts(t, port)
	if len(ports) == 0 {
		return "", nil
	}
	n, _, err := s.mgr.NodeInspectWithRaw(ctx, t.NodeID)
	if err != nil {
		return "", fmt.Errorf("inspecting node %s: %w", shortID(t.NodeID), err)
	}
	if n.Status.Addr == "" {
		return "", fmt.Errorf("node %s has no address", shortID(t.NodeID))
	}
	return hostPort(n.Status.Addr, pickPort(ctx, n.Status.Addr, ports)), nil
}

// LabelNodeName on a swarm node is paas's name of it (package nodes sets
// it); nodes without it are named by their hostname.
const LabelNodeName = "paas.name"

// nodeName returns paas's name of node id, or its ID when it cannot be
// read.
func (s *Swarm) nodeName(ctx context.Context, id string) string {
	n, _, err := s.mgr.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return shortID(id)
	}
	if name := n.Spec.Labels[LabelNodeName]; name != "" {
		return name
	}
	if n.Description.Hostname != "" {
		return n.Description.Hostname
	}
	return shortID(id)
}

// watch reads the swarm's tasks and nodes every poll and reports the
// instances whose task ended or whose node went down.
func (s *Swarm) watch() {
	defer s.wg.Done()
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		err := s.check()
		if err != nil && !failing {
			s.log.Error("reading the swarm's tasks", "err", err)
		} else if err == nil && failing {
			s.log.Info("the swarm's tasks can be read again")
		}
		failing = err != nil
	}
}

// check compares every watched instance with its task.
func (s *Swarm) check() error {
	s.mu.Lock()
	insts := make([]*swarmInst, 0, len(s.insts))
	for _, si := range s.insts {
		if !si.stopping && !si.ending {
			insts = append(insts, si)
		}
	}
	s.mu.Unlock()
	if len(insts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tasks, err := s.mgr.TaskList(ctx, swarm.TaskListOptions{})
	if err != nil {
		return err
	}
	nodes, err := s.mgr.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return err
	}
	byID := make(map[string]swarm.Task, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	down := map[string]bool{}
	for _, n := range nodes {
		down[n.ID] = n.Status.State == swarm.NodeStateDown
	}
	for _, si := range insts {
		t, ok := byID[si.task]
		switch {
		case !ok:
			go s.ended(si, -1, ErrTaskGone)
		case taskEnded(t.Status.State):
			go s.ended(si, taskExitCode(t), nil)
		case down[t.NodeID]:
			go s.ended(si, -1, ErrNodeDown)
		}
	}
	return nil
}

// ended reports an instance whose task ended by itself and removes its
// service.
func (s *Swarm) ended(si *swarmInst, code int, err error) {
	s.mu.Lock()
	if si.stopping || si.ending || s.insts[si.inst.ID] != si {
		s.mu.Unlock()
		return
	}
	si.ending = true
	s.mu.Unlock()
	s.removeService(si.inst.ID)
	s.report(si, code, err)
}

// follow streams an instance's output into Logs, from since (zero: all
// of it).
func (s *Swarm) follow(si *swarmInst, since time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	si.logs = cancel
	si.logsDone = make(chan struct{})
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true}
	if !since.IsZero() {
		opts.Since = strconv.FormatInt(since.Unix(), 10)
	}
	go func() {
		defer close(si.logsDone)
		rc, err := s.mgr.ServiceLogs(ctx, si.inst.ID, opts)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("reading instance output", "app", si.inst.App, "instance", si.inst.Name(), "err", err)
			}
			return
		}
		defer rc.Close()
		go func() {
			<-ctx.Done()
			rc.Close()
		}()
		name := si.inst.Name()
		emit := func(lines [][]byte) {
			if s.cfg.Logs != nil {
				s.cfg.Logs.Lines(si.inst.App, name, si.inst.Release, lines)
			}
		}
		stdout := newSplitter(MaxLineLength, emit)
		stderr := newSplitter(MaxLineLength, emit)
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
		stdout.Close()
		stderr.Close()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("reading instance output", "app", si.inst.App, "instance", name, "err", err)
		}
	}()
}

// endLogs gives an instance's output stream a moment to deliver what its
// node still sends, then ends it.
func (s *Swarm) endLogs(si *swarmInst) {
	if si.logs == nil {
		return
	}
	select {
	case <-si.logsDone:
	case <-time.After(time.Second):
	}
	si.logs()
	<-si.logsDone
}

// Adopt starts watching the services an earlier paasd left running
// (those of this Owner): their output from now on goes to Logs and their
// exits to OnExit. A service whose task no longer runs is removed. It
// returns the instances adopted.
func (s *Swarm) Adopt(ctx context.Context) ([]Instance, error) {
	svcs, err := s.mgr.ServiceList(ctx, swarm.ServiceListOptions{Filters: s.managedFilter("")})
	if err != nil {
		return nil, fmt.Errorf("listing services to adopt: %w", err)
	}
	now := time.Now()
	var out []Instance
	var errs []error
	for _, svc := range svcs {
		inst, ok := instanceFromLabels(svc.ID, svc.Spec.Labels)
		if !ok {
			continue
		}
		s.mu.Lock()
		_, known := s.insts[svc.ID]
		s.mu.Unlock()
		if known {
			continue
		}
		t, addr, err := s.runningTask(ctx, svc.ID, inst)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if t.ID == "" {
			s.log.Info("removing a service whose task ended while no paasd watched", "app", inst.App, "instance", inst.Name())
			s.removeService(svc.ID)
			continue
		}
		inst.Addr = addr
		inst.Started = t.Status.Timestamp
		inst.Node = s.nodeName(ctx, t.NodeID)
		si := &swarmInst{inst: inst, task: t.ID, node: t.NodeID, done: make(chan struct{})}
		if !s.register(si) {
			return out, ErrShutdown
		}
		s.follow(si, now)
		out = append(out, inst)
	}
	return out, errors.Join(errs...)
}

// runningTask returns service id's running task and its address; an
// empty task when none runs.
func (s *Swarm) runningTask(ctx context.Context, id string, inst Instance) (swarm.Task, string, error) {
	ts, err := s.mgr.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	if err != nil {
		return swarm.Task{}, "", fmt.Errorf("listing tasks of %s %s: %w", inst.App, inst.Name(), err)
	}
	for _, t := range ts {
		if t.Status.State != swarm.TaskStateRunning || t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		if inst.Port == 0 {
			return t, "", nil
		}
		addr, err := s.taskAddr(ctx, t, inst.Port)
		if err != nil || addr == "" {
			return swarm.Task{}, "", err
		}
		return t, addr, nil
	}
	return swarm.Task{}, "", nil
}

// instanceFromLabels maps a service's labels to an Instance.
func instanceFromLabels(id string, l map[string]string) (Instance, bool) {
	rel, err1 := strconv.Atoi(l[LabelRelease])
	idx, err2 := strconv.Atoi(l[LabelIndex])
	if l[LabelApp] == "" || l[LabelType] == "" || err1 != nil || err2 != nil || l[LabelOneOff] == "true" {
		return Instance{}, false
	}
	inst := Instance{ID: id, App: l[LabelApp], Release: rel, Type: l[LabelType], Index: idx, Command: l[LabelCommand]}
	if p, err := strconv.Atoi(l[LabelPort]); err == nil {
		inst.Port = p
	}
	return inst, true
}
