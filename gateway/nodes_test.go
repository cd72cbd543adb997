package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"

	"paas"
	"paas/nodes"
)

// The server's NodeAdmin is *nodes.Nodes.
var _ NodeAdmin = (*nodes.Nodes)(nil)

// fakeNodes is a swarm's membership held in memory: the Docker API
// boundary is nodes' own tests'.
type fakeNodes struct {
	mu    sync.Mutex
	nodes []nodes.Node
	calls []string
}

func newFakeNodes() *fakeNodes {
	return &fakeNodes{nodes: []nodes.Node{
		{Name: "vm", ID: "n1", Addr: "10.0.0.10", Role: "manager", Leader: true, State: "ready", Availability: "active", Tasks: 3, CPUs: 2, Memory: 4 << 30, Engine: "20.10.24"},
		{Name: "vm-2", ID: "n2", Addr: "10.0.0.11", Role: "worker", State: "down", Availability: "drain", CPUs: 0.5, Memory: 512 << 20, Engine: "20.10.24"},
	}}
}

func (f *fakeNodes) call(format string, a ...any) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

func (f *fakeNodes) find(name string) (*nodes.Node, error) {
	for i := range f.nodes {
		if f.nodes[i].Name == name {
			return &f.nodes[i], nil
		}
	}
	return nil, paas.Errorf("no node named %s", name)
}

func (f *fakeNodes) List(ctx context.Context) ([]nodes.Node, error) {
	f.call("list")
	return append([]nodes.Node(nil), f.nodes...), nil
}

func (f *fakeNodes) Add(ctx context.Context, address, name string, out io.Writer) (nodes.Node, error) {
	f.call("add %s %q", address, name)
	if name == "" {
		name = "vm-3"
	}
	fmt.Fprintf(out, "joining %s\n", address)
	n := nodes.Node{Name: name, ID: "n3", Addr: "10.0.0.12", Role: "worker", State: "ready", Availability: "active"}
	f.nodes = append(f.nodes, n)
	return n, nil
}

func (f *fakeNodes) Drain(ctx context.Context, name string) error {
	f.call("drain %s", name)
	n, err := f.find(name)
	if err == nil {
		n.Availability = "drain"
	}
	return err
}

func (f *fakeNodes) Activate(ctx context.Context, name string) error {
	f.call("activate %s", name)
	n, err := f.find(name)
	if err == nil {
		n.Availability = "active"
	}
	return err
}

func (f *fakeNodes) Remove(ctx context.Context, name string, out io.Writer) error {
	f.call("remove %s", name)
	if _, err := f.find(name); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed %s\n", name)
	return nil
}

// TestNodesWithoutSwarm: on a server without a swarm every nodes command
// is one line saying what it needs, and nothing on stdout.
func TestNodesWithoutSwarm(t *testing.T) {
	s, _ := newTestServer(t)
	for _, args := range [][]string{
		{"nodes"}, {"nodes", "--json"}, {"nodes:add", "ssh://root@node2"}, {"nodes:add", "/run/docker.sock", "--name", "n2"},
		{"nodes:drain", "vm"}, {"nodes:activate", "vm"}, {"nodes:remove", "vm"},
	} {
		got := run(s, args...)
		if got.status != 1 || got.stdout != "" || got.stderr != "paas: nodes need the swarm scheduler (PAAS_SCHEDULER=swarm)\n" {
			t.Errorf("%q: %+v", args, got)
		}
	}
}

// TestNodesCommands: the table (the leader marked), what each command
// hands the swarm's membership and says, usage errors and a refusal of
// the membership as one line, nothing called.
func TestNodesCommands(t *testing.T) {
	s, _ := newTestServer(t)
	f := newFakeNodes()
	s.cfg.Nodes = f

	got := run(s, "nodes")
	want := "NAME  ADDRESS    ROLE      STATE  AVAILABILITY  TASKS  CPUS  MEMORY\n" +
		"vm    10.0.0.10  manager*  ready  active        3      2     4.0 GiB\n" +
		"vm-2  10.0.0.11  worker    down   drain         0      0.5   512.0 MiB\n"
	if got.status != 0 || got.stderr != "" || got.stdout != want {
		t.Errorf("nodes: %+v\nwant\n%s", got, want)
	}

	got = run(s, "nodes", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &list); err != nil || got.status != 0 || len(list) != 2 {
		t.Fatalf("nodes --json: %+v (%v)", got, err)
	}
	wantJSON := map[string]any{"name": "vm", "id": "n1", "address": "10.0.0.10", "role": "manager", "leader": true, "state": "ready",
		"availability": "active", "tasks": 3.0, "cpus": 2.0, "memory": float64(4 << 30), "engine_version": "20.10.24"}
	if !maps.Equal(list[0], wantJSON) || list[1]["leader"] != false || list[1]["cpus"] != 0.5 {
		t.Errorf("nodes --json = %v", list)
	}

	for _, tc := range []struct {
		args      []string
		call, out string
	}{
		{[]string{"nodes:add", "ssh://root@node3.example.com"}, `add ssh://root@node3.example.com ""`,
			"joining ssh://root@node3.example.com\nAdded node vm-3 (10.0.0.12, worker)\n"},
		{[]string{"nodes:add", "--name", "far", "/run/docker.sock"}, `add /run/docker.sock "far"`,
			"joining /run/docker.sock\nAdded node far (10.0.0.12, worker)\n"},
		{[]string{"nodes:drain", "vm-2"}, "drain vm-2", "Draining vm-2...\nDrained vm-2: its tasks run on other nodes; nodes:activate takes it back\n"},
		{[]string{"nodes:activate", "vm-2"}, "activate vm-2", "Activated vm-2: new tasks may run on it\n"},
		{[]string{"nodes:remove", "vm-2"}, "remove vm-2", "removed vm-2\n"},
	} {
		f.calls = nil
		got := run(s, tc.args...)
		if got.status != 0 || got.stderr != "" || got.stdout != tc.out || len(f.calls) != 1 || f.calls[0] != tc.call {
			t.Errorf("%q: %+v, calls %q; want %q and\n%s", tc.args, got, f.calls, tc.call, tc.out)
		}
	}

	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"nodes", "vm"}, "usage: nodes [--json]"},
		{[]string{"nodes", "--all"}, "unknown flag --all"},
		{[]string{"nodes:add"}, "usage: nodes:add ADDRESS [--name NAME]"},
		{[]string{"nodes:add", "/a.sock", "/b.sock"}, "usage: nodes:add ADDRESS [--name NAME]"},
		{[]string{"nodes:add", "/a.sock", "--name"}, "flag --name needs a value"},
		{[]string{"nodes:add", "/a.sock", "--name="}, "--name needs a node name"},
		{[]string{"nodes:drain"}, "usage: nodes:drain NAME"},
		{[]string{"nodes:activate", "a", "b"}, "usage: nodes:activate NAME"},
		{[]string{"nodes:remove", "--force", "vm-2"}, "unknown flag --force"},
	} {
		f.calls = nil
		got := run(s, tc.args...)
		if got.status != 1 || got.stdout != "" || got.stderr != "paas: "+tc.err+"\n" || len(f.calls) != 0 {
			t.Errorf("%q: %+v, calls %q; want %q", tc.args, got, f.calls, tc.err)
		}
	}
	got = run(s, "nodes:remove", "ghost")
	if got.status != 1 || got.stdout != "" || got.stderr != "paas: no node named ghost\n" {
		t.Errorf("nodes:remove ghost: %+v", got)
	}
	if strings.Contains(got.stderr, "\x1b") {
		t.Errorf("control characters: %q", got.stderr)
	}
}
