package nodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"paas"
	"paas/internal/swarmtest"
)

// sleeperRef is the image of the test's service, imported into every
// engine (none pulls it: swarmtest's LocalImagesOnly).
const sleeperRef = "paas-nodestest/sleeper:v1"

// TestNodes, on a swarm of two nodes and two spare engines: List names
// the nodes (which share a hostname) apart and keeps the names as
// labels, a name set twice by hand renamed on the newer node; Add joins a spare engine by its socket and the other over
// ssh, which also writes the registry's CA there; Drain moves a
// service's task off a node, Activate takes it back; a Nodes made anew
// (a restarted paasd) finds the same names; Remove takes out a live
// manager (demoted first; its engine leaves the swarm) and a node whose
// engine is stopped; and every bad input is one user-facing line that
// changes nothing.
func TestNodes(t *testing.T) {
	if why := swarmtest.Requirement(); why != "" {
		t.Skip(why)
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("needs ssh, the OpenSSH client")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := swarmtest.Start(ctx, swarmtest.Config{Nodes: 2, Managers: 1, Spare: 2, LocalImagesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range append(s.Nodes, s.Spare...) {
				t.Logf("engine %s log:\n%s", n.IP, n.LogTail())
			}
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	rootfs, err := swarmtest.SleeperImage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(s.Nodes, s.Spare...) {
		if out, err := n.Docker("import", rootfs, sleeperRef).CombinedOutput(); err != nil {
			t.Fatalf("docker import on %s: %v\n%s", n.IP, err, out)
		}
	}
	mgr, err := s.Manager()
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	sshAddr, sshOpts := sshNode(t, s.Spare[1])
	ca := []byte("-----BEGIN CERTIFICATE-----\nnot checked by the engine until it pulls\n-----END CERTIFICATE-----\n")
	registry := s.HostIP + ":5443"
	// Warm sees each joining engine before it joins; the second fails.
	var warmed []swarm.LocalNodeState
	warm := func(ctx context.Context, eng *client.Client) error {
		info, err := eng.Info(ctx)
		if err != nil {
			return err
		}
		warmed = append(warmed, info.Swarm.LocalNodeState)
		if len(warmed) == 2 {
			return errors.New("no stack here")
		}
		return nil
	}
	n, err := New(Config{Manager: mgr, RegistryAddr: registry, RegistryCA: ca, SSHOptions: sshOpts, Warm: warm})
	if err != nil {
		t.Fatal(err)
	}

	// List: the first node made the swarm; both share a hostname.
	list, err := n.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("List: %+v, want 2 nodes", list)
	}
	host := list[0].Name
	if list[0].ID != s.Nodes[0].ID || list[1].ID != s.Nodes[1].ID || list[1].Name != host+"-2" {
		t.Errorf("List names %s %s, %s %s; want %s %s, then %s-2", list[0].ID, list[0].Name, list[1].ID, list[1].Name, s.Nodes[0].ID, host, host)
	}
	for i, nd := range list {
		wantRole := map[bool]string{true: "manager", false: "worker"}[i == 0]
		if nd.Addr != s.Nodes[i].IP || nd.Role != wantRole || nd.Leader != (i == 0) || nd.State != "ready" ||
			nd.Availability != "active" || nd.CPUs <= 0 || nd.Memory <= 0 || nd.Engine == "" || nd.Tasks != 0 {
			t.Errorf("List[%d] = %+v", i, nd)
		}
		sn, _, err := mgr.NodeInspectWithRaw(ctx, nd.ID)
		if err != nil || sn.Spec.Labels[NameLabel] != nd.Name {
			t.Errorf("node %s: label %q, want %q (%v)", nd.ID, sn.Spec.Labels[NameLabel], nd.Name, err)
		}
	}

	// A name given by hand to a second node is taken back.
	if _, err := n.label(ctx, list[1].ID, map[string]string{NameLabel: host}); err != nil {
		t.Fatal(err)
	}
	if got, err := n.List(ctx); err != nil || len(got) != 2 || got[0].Name != host || got[1].Name != host+"-2" {
		t.Errorf("List with a name twice: %+v, %v", got, err)
	}

	// Bad input: one line each, nothing changed.
	other, err := s.Spare[0].Client()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.SwarmInit(ctx, swarm.InitRequest{ListenAddr: s.Spare[0].IP + ":2377", AdvertiseAddr: s.Spare[0].IP}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		call func() error
		want string
	}{
		{"add of no form", func() error { _, err := n.Add(ctx, "tcp://"+s.Spare[0].IP+":2375", "", nil); return err }, "invalid node address"},
		{"add of an option as ssh user", func() error { _, err := n.Add(ctx, "ssh://-oProxyCommand=x@host", "", nil); return err }, "invalid node address"},
		{"add with a bad name", func() error { _, err := n.Add(ctx, s.Spare[0].Host, "Bad_Name", nil); return err }, "invalid node name"},
		{"add of no engine", func() error { _, err := n.Add(ctx, filepath.Join(t.TempDir(), "none.sock"), "", nil); return err }, "does not answer"},
		{"add of a node", func() error { _, err := n.Add(ctx, s.Nodes[1].Host, "", nil); return err }, "is already a node named " + host + "-2"},
		{"add of another swarm's", func() error { _, err := n.Add(ctx, s.Spare[0].Host, "", nil); return err }, "is in another swarm"},
		{"add with a taken name", func() error { _, err := n.Add(ctx, sshAddr, host, nil); return err }, "a node named " + host + " exists already"},
		{"drain of no node", func() error { return n.Drain(ctx, "ghost") }, "no node named ghost"},
		{"drain of a bad name", func() error { return n.Drain(ctx, "-x") }, "invalid node name"},
		{"activate of no node", func() error { return n.Activate(ctx, "ghost") }, "no node named ghost"},
		{"remove of no node", func() error { return n.Remove(ctx, "ghost", nil) }, "no node named ghost"},
		{"remove of the manager", func() error { return n.Remove(ctx, host, nil) }, "is the swarm manager paasd talks to"},
	} {
		err := tc.call()
		var pe *paas.Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tc.want) || strings.Contains(pe.Msg, "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.what, err, tc.want)
		}
	}
	if got, err := n.List(ctx); err != nil || len(got) != 2 || got[0].Availability != "active" {
		t.Fatalf("after bad input: %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(s.Spare[1].CertsDir(), registry)); !os.IsNotExist(err) {
		t.Errorf("a refused add wrote the CA: %v", err)
	}
	if len(warmed) != 0 {
		t.Errorf("refused adds warmed %d engines", len(warmed))
	}
	if err := other.SwarmLeave(ctx, true); err != nil {
		t.Fatal(err)
	}

	// Add by socket path (a default name) and over ssh (a given one).
	var progress bytes.Buffer
	added, err := n.Add(ctx, strings.TrimPrefix(s.Spare[0].Host, "unix://"), "", &progress)
	if err != nil {
		t.Fatal(err)
	}
	if added.Name != host+"-3" || added.Role != "worker" || added.State != "ready" || added.Addr != s.Spare[0].IP {
		t.Errorf("Add by socket: %+v", added)
	}
	viaSSH, err := n.Add(ctx, sshAddr, "far", &progress)
	if err != nil {
		t.Fatalf("Add over ssh: %v\n%s", err, progress.String())
	}
	if viaSSH.Name != "far" || viaSSH.State != "ready" || viaSSH.Addr != s.Spare[1].IP {
		t.Errorf("Add over ssh: %+v", viaSSH)
	}
	if got, err := os.ReadFile(filepath.Join(s.Spare[1].CertsDir(), registry, "ca.crt")); err != nil || !bytes.Equal(got, ca) {
		t.Errorf("the registry's CA on the ssh node: %q, %v", got, err)
	}
	if !slices.Equal(warmed, []swarm.LocalNodeState{swarm.LocalNodeStateInactive, swarm.LocalNodeStateInactive}) {
		t.Errorf("Warm saw engines in swarm states %v, want two not in a swarm yet", warmed)
	}
	if want := "did not pull the stack image (its first instances will): no stack here"; !strings.Contains(progress.String(), want) {
		t.Errorf("add progress lacks %q:\n%s", want, progress.String())
	}
	t.Logf("add progress:\n%s", progress.String())
	if list, err = n.List(ctx); err != nil || len(list) != 4 {
		t.Fatalf("List after adds: %+v, %v", list, err)
	}

	// Drain: a service with a task on every node; the drained node's
	// task moves to another.
	replicas := uint64(4)
	svc, err := mgr.ServiceCreate(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "paas-nodestest-sleeper"},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: sleeperRef, Command: []string{"/sleeper"}},
			Placement:     &swarm.Placement{MaxReplicas: 2},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}, swarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	on := waitTasks(ctx, t, mgr, svc.ID, 4)
	if len(on) < 2 {
		t.Fatalf("tasks on %v: want them spread", on)
	}
	var busy Node
	for _, nd := range list {
		if on[nd.ID] > 0 && nd.ID != s.Nodes[0].ID {
			busy = nd
		}
	}
	if busy.Name == "" {
		t.Fatalf("no task on a worker: %v", on)
	}
	if nd := byName(ctx, t, n, busy.Name); nd.Tasks != on[busy.ID] {
		t.Errorf("List says %d tasks on %s, the swarm %d", nd.Tasks, busy.Name, on[busy.ID])
	}
	if err := n.Drain(ctx, busy.Name); err != nil {
		t.Fatal(err)
	}
	if left, err := n.tasksOn(ctx, busy.ID); err != nil || left != 0 {
		t.Errorf("after Drain %d tasks on %s (%v)", left, busy.Name, err)
	}
	on = waitTasks(ctx, t, mgr, svc.ID, 4)
	if on[busy.ID] != 0 {
		t.Errorf("tasks on %v after draining %s", on, busy.ID)
	}
	if nd := byName(ctx, t, n, busy.Name); nd.Availability != "drain" || nd.Tasks != 0 {
		t.Errorf("drained: %+v", nd)
	}
	if err := n.Activate(ctx, busy.Name); err != nil {
		t.Fatal(err)
	}
	if nd := byName(ctx, t, n, busy.Name); nd.Availability != "active" {
		t.Errorf("activated: %+v", nd)
	}
	if err := mgr.ServiceRemove(ctx, svc.ID); err != nil {
		t.Fatal(err)
	}

	// A paasd started anew finds the same names.
	again, err := New(Config{Manager: mgr})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.List(ctx); err != nil || fmt.Sprint(names(got)) != fmt.Sprint(names(list)) {
		t.Errorf("a new Nodes lists %v, want %v (%v)", names(got), names(list), err)
	}

	// Remove a live node, a manager: it is demoted, and its engine
	// leaves the swarm.
	if _, err := n.update(ctx, added.ID, func(s *swarm.NodeSpec) { s.Role = swarm.NodeRoleManager }); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, time.Minute, "promotion", func() (bool, error) {
		sn, _, err := mgr.NodeInspectWithRaw(ctx, added.ID)
		return err == nil && sn.ManagerStatus != nil && sn.ManagerStatus.Reachability == swarm.ReachabilityReachable, nil
	}); err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	if err := n.Remove(ctx, added.Name, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "demoting "+added.Name) || !strings.Contains(progress.String(), "engine left the swarm") {
		t.Errorf("remove of a live node said:\n%s", progress.String())
	}
	if info, err := other.Info(ctx); err != nil || info.Swarm.LocalNodeState != swarm.LocalNodeStateInactive {
		t.Errorf("the removed node's engine: %s, %v", info.Swarm.LocalNodeState, err)
	}
	// Remove a node whose engine is stopped.
	if err := s.Spare[1].Stop(); err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	if err := n.Remove(ctx, "far", &progress); err != nil {
		t.Fatal(err)
	}
	t.Logf("remove progress:\n%s", progress.String())
	list, err = n.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(list), " "); got != host+" "+host+"-2" {
		t.Errorf("after removes: %v", got)
	}
}

// names are the names of list's nodes.
func names(list []Node) []string {
	var out []string
	for _, nd := range list {
		out = append(out, nd.Name)
	}
	return out
}

// byName is node name of List.
func byName(ctx context.Context, t *testing.T, n *Nodes, name string) Node {
	t.Helper()
	list, err := n.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range list {
		if nd.Name == name {
			return nd
		}
	}
	t.Fatalf("no node %s in %+v", name, list)
	return Node{}
}

// waitTasks waits until want tasks of service id run, and returns how
// many run on each node.
func waitTasks(ctx context.Context, t *testing.T, mgr *client.Client, id string, want int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		tasks, err := mgr.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id), filters.Arg("desired-state", "running"))})
		if err != nil {
			t.Fatal(err)
		}
		on := map[string]int{}
		running := 0
		var states []string
		for _, tk := range tasks {
			if tk.Status.State == swarm.TaskStateRunning {
				on[tk.NodeID]++
				running++
			}
			states = append(states, fmt.Sprintf("%s: %s %s", tk.NodeID, tk.Status.State, tk.Status.Err))
		}
		if running == want && len(tasks) == want {
			return on
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks after a minute: %s", strings.Join(states, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
