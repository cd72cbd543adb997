package swarmtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// stackImage is the image the nodes run.
func stackImage() string {
	if s := os.Getenv("PAAS_STACK_IMAGE"); s != "" {
		return s
	}
	return "paas/stack:bookworm"
}

// server answers every request with its hostname (and exits at once on
// SIGTERM, which as PID 1 it would otherwise not get).
const server = `import http.server, signal, socket, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = socket.gethostname().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
`

// fetch resolves the service's name (dnsrr: one address per task) and
// asks every address given for its hostname.
const fetch = `import socket, sys, urllib.request
print("dns", " ".join(sorted({a[4][0] for a in socket.getaddrinfo(sys.argv[1], 8080, proto=socket.IPPROTO_TCP)})))
for a in sys.argv[2:]:
    print(a, urllib.request.urlopen("http://%s:8080/" % a, timeout=5).read().decode())
`

// TestSwarm forms a swarm of three nodes (one manager), runs a service
// of three replicas spread over them on an overlay network with dnsrr
// endpoints, reaches every task from a container on another node,
// drains a node and sees its task move, stops a node's engine and sees
// it down and its tasks run elsewhere, and leaves nothing behind.
func TestSwarm(t *testing.T) {
	if why := Requirement(); why != "" {
		t.Skip(why)
	}
	if err := exec.Command("docker", "image", "inspect", stackImage()).Run(); err != nil {
		t.Skipf("needs the stack image %s on the host's engine", stackImage())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	s, err := Start(ctx, Config{Nodes: 3, Managers: 1, Images: []string{stackImage()}, LocalImagesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			if t.Failed() {
				for _, n := range s.Nodes {
					t.Logf("node %s log:\n%s", n.IP, n.LogTail())
				}
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		}
	})
	t.Logf("engines started and images loaded in %s; swarm formed in %s", time.Since(began)-s.FormedIn, s.FormedIn)

	cli, err := s.Manager()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	managers := 0
	for _, n := range nodes {
		if n.Status.State != swarm.NodeStateReady || n.Spec.Availability != swarm.NodeAvailabilityActive {
			t.Errorf("node %s: %s, %s", n.ID, n.Status.State, n.Spec.Availability)
		}
		if s.Node(n.ID) == nil || n.Status.Addr != s.Node(n.ID).IP {
			t.Errorf("node %s at %s is none of ours", n.ID, n.Status.Addr)
		}
		if n.Spec.Role == swarm.NodeRoleManager {
			managers++
		}
	}
	if len(nodes) != 3 || managers != 1 {
		t.Fatalf("%d nodes, %d managers; want 3, 1", len(nodes), managers)
	}

	phase := time.Now()
	net, err := cli.NetworkCreate(ctx, "paas-swt", network.CreateOptions{Driver: "overlay", Attachable: true})
	if err != nil {
		t.Fatal(err)
	}
	replicas, noDelay := uint64(3), time.Duration(0)
	svc, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "paas-swt-web"},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:   stackImage(),
				Command: []string{"python3", "-c", server},
			},
			Networks: []swarm.NetworkAttachmentConfig{{Target: net.ID}},
			// Two at most per node: three replicas spread over three
			// nodes (the scheduler spreads a service's tasks), and
			// still a place for a drained node's task.
			Placement:     &swarm.Placement{MaxReplicas: 2},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &noDelay},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}, swarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks := waitTasks(t, ctx, cli, svc.ID, 3, "")
	t.Logf("service of 3 replicas running in %s", time.Since(phase))
	on := map[string]bool{}
	for _, tk := range tasks {
		on[tk.NodeID] = true
	}
	if len(on) != 3 {
		t.Fatalf("the tasks run on %d nodes, want 3: %v", len(on), on)
	}
	phase = time.Now()
	reachAll(t, ctx, s, tasks)
	t.Logf("every task reached over the overlay network from another node in %s", time.Since(phase))

	// Drain a worker: its task moves to another node.
	phase = time.Now()
	drained := s.Nodes[2]
	setAvailability(t, ctx, cli, drained.ID, swarm.NodeAvailabilityDrain)
	moved := waitTasks(t, ctx, cli, svc.ID, 3, drained.ID)
	t.Logf("drained node %s: its task ran elsewhere in %s", drained.IP, time.Since(phase))
	reachAll(t, ctx, s, moved)

	// Back to active, then a worker's engine stops: the manager sees
	// the node down and runs its tasks elsewhere.
	setAvailability(t, ctx, cli, drained.ID, swarm.NodeAvailabilityActive)
	phase = time.Now()
	stopped := s.Nodes[1]
	if err := stopped.Stop(); err != nil {
		t.Fatal(err)
	}
	for {
		n, _, err := cli.NodeInspectWithRaw(ctx, stopped.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status.State == swarm.NodeStateDown {
			break
		}
		if time.Since(phase) > time.Minute {
			t.Fatalf("node %s %s a minute after its engine stopped", stopped.IP, n.Status.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("stopped node %s seen down in %s", stopped.IP, time.Since(phase))
	rescheduled := waitTasks(t, ctx, cli, svc.ID, 3, stopped.ID)
	t.Logf("its tasks ran elsewhere %s after its engine stopped", time.Since(phase))
	reachAll(t, ctx, s, rescheduled)

	if err := cli.ServiceRemove(ctx, svc.ID); err != nil {
		t.Error(err)
	}
	dir := s.dir
	closed = true
	phase = time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("torn down in %s; whole test %s", time.Since(phase), time.Since(began))
	leftovers(t, s, dir)
}

// setAvailability sets the node's availability.
func setAvailability(t *testing.T, ctx context.Context, cli *client.Client, id string, a swarm.NodeAvailability) {
	t.Helper()
	node, _, err := cli.NodeInspectWithRaw(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Availability = a
	if err := cli.NodeUpdate(ctx, node.ID, node.Version, node.Spec); err != nil {
		t.Fatal(err)
	}
}

// waitTasks waits until the service has want tasks running, none on the
// node notOn, and returns them.
func waitTasks(t *testing.T, ctx context.Context, cli *client.Client, service string, want int, notOn string) []swarm.Task {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		all, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
			filters.Arg("service", service), filters.Arg("desired-state", "running"))})
		if err != nil {
			t.Fatal(err)
		}
		var running []swarm.Task
		for _, tk := range all {
			if tk.Status.State == swarm.TaskStateRunning && tk.NodeID != notOn {
				running = append(running, tk)
			}
		}
		if len(running) == want && len(all) == want {
			return running
		}
		if time.Now().After(deadline) {
			var states []string
			for _, tk := range all {
				states = append(states, fmt.Sprintf("%s on %s: %s %s", tk.ID, tk.NodeID, tk.Status.State, tk.Status.Err))
			}
			t.Fatalf("%d of %d tasks running after a minute: %s", len(running), want, strings.Join(states, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reachAll asks every task for its hostname at its overlay address, from
// a container attached to the overlay network on a node other than the
// task's, and checks that the service's name resolves to every task.
func reachAll(t *testing.T, ctx context.Context, s *Swarm, tasks []swarm.Task) {
	t.Helper()
	var all []string
	addrs := map[string][]string{} // client node IP → task addresses
	host := map[string]string{}    // task address → its container's hostname
	for _, tk := range tasks {
		a := overlayAddr(t, tk)
		all = append(all, a)
		host[a] = tk.Status.ContainerStatus.ContainerID[:12]
		for _, n := range s.Nodes {
			if n.ID != tk.NodeID && n.Running() && !s.drained(ctx, n.ID) {
				addrs[n.IP] = append(addrs[n.IP], a)
				break
			}
		}
	}
	slices.Sort(all)
	for _, n := range s.Nodes {
		if len(addrs[n.IP]) == 0 {
			continue
		}
		args := append([]string{"run", "--rm", "--network", "paas-swt", stackImage(),
			"python3", "-c", fetch, "paas-swt-web"}, addrs[n.IP]...)
		var out, errb bytes.Buffer
		cmd := n.Docker(args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("from node %s: %v\n%s%s", n.IP, err, out.String(), errb.String())
		}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) > 0 && f[0] == "dns":
				if got := f[1:]; !slices.Equal(got, all) {
					t.Errorf("from node %s, paas-swt-web resolves to %v, want %v", n.IP, got, all)
				}
			case len(f) == 2 && host[f[0]] == f[1]:
				delete(host, f[0])
			default:
				t.Errorf("from node %s: %q", n.IP, l)
			}
		}
	}
	if len(host) != 0 {
		t.Errorf("tasks not reached: %v", host)
	}
}

// drained reports whether the node is drained.
func (s *Swarm) drained(ctx context.Context, id string) bool {
	cli, err := s.Manager()
	if err != nil {
		return false
	}
	defer cli.Close()
	n, _, err := cli.NodeInspectWithRaw(ctx, id)
	return err == nil && n.Spec.Availability == swarm.NodeAvailabilityDrain
}

// overlayAddr is the task's address on the test's overlay network.
func overlayAddr(t *testing.T, tk swarm.Task) string {
	t.Helper()
	for _, na := range tk.NetworksAttachments {
		if na.Network.Spec.Name == "paas-swt" && len(na.Addresses) > 0 {
			ip, _, err := net.ParseCIDR(na.Addresses[0])
			if err != nil {
				t.Fatal(err)
			}
			return ip.String()
		}
	}
	t.Fatalf("task %s has no address on paas-swt: %+v", tk.ID, tk.NetworksAttachments)
	return ""
}

// leftovers checks that nothing of the swarm is left: namespaces, links,
// mounts, processes, directories.
func leftovers(t *testing.T, s *Swarm, dir string) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), s.bridge) {
		t.Errorf("namespaces left: %s", out)
	}
	out, _ = exec.Command("ip", "-o", "link").Output()
	if strings.Contains(string(out), s.hostIf) {
		t.Errorf("link %s left", s.hostIf)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(b), dir) || strings.Contains(string(b), s.bridge) {
		t.Errorf("mounts left:\n%s", b)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			t.Errorf("process %s left: %s", e.Name(), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left: %v", dir, err)
	}
}
