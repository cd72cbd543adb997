package runtime

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"paas/internal/swarmtest"
	"paas/internal/syncbuf"
	"paas/registry"
)

// swarmEnv is what a swarm runtime test works with: a swarm of three
// nodes whose engines have the stack image, a registry on the host's
// address of the swarm's subnet that the nodes and the host's engine
// trust, and a Swarm runtime over it.
type swarmEnv struct {
	s     *Swarm
	sw    *swarmtest.Swarm
	mgr   *client.Client
	sink  *sink
	exits *exits
	app   string
	image string
}

// trustRegistry makes the engine reading certsDir trust the registry at
// addr, whose CA is ca.
func trustRegistry(t *testing.T, certsDir, addr string, ca []byte) {
	t.Helper()
	d := filepath.Join(certsDir, addr)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
}

func testSwarm(t *testing.T) *swarmEnv {
	t.Helper()
	if why := swarmtest.Requirement(); why != "" {
		t.Skip(why)
	}
	local := dockerClient(t)
	img := stackImage(t, local)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	sw, err := swarmtest.Start(ctx, swarmtest.Config{Nodes: 3, Managers: 1, Images: []string{img}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Error(err)
		}
	})
	ln, err := net.Listen("tcp4", net.JoinHostPort(sw.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Dir: t.TempDir(), Addr: ln.Addr().String()})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	go reg.Serve(ln)
	t.Cleanup(func() { reg.Shutdown(context.Background()) })
	// The host's engine pushes: it trusts the registry in the host's
	// certs.d, for the test's life.
	hostCerts := "/etc/docker/certs.d"
	trustRegistry(t, hostCerts, ln.Addr().String(), reg.CACertPEM())
	t.Cleanup(func() { os.RemoveAll(filepath.Join(hostCerts, ln.Addr().String())) })
	for _, n := range sw.Nodes {
		trustRegistry(t, n.CertsDir(), ln.Addr().String(), reg.CACertPEM())
	}
	mgr, err := sw.Manager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	env := &swarmEnv{sw: sw, mgr: mgr, sink: newSink(), exits: newExits(), app: randomApp(), image: img}
	s, err := NewSwarm(t.Context(), SwarmConfig{
		Manager: mgr, Local: local, Registry: reg, Logs: env.sink, OnExit: env.exits.onExit,
		Owner: "swarmtest", Poll: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	env.s = s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Shutdown(ctx, time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return env
}

func (e *swarmEnv) web(index int) Spec {
	return Spec{App: e.app, Release: 1, Type: "web", Index: index, Slug: e.image, Web: true, StopTimeout: 2 * time.Second,
		Command: `echo hi from $DYNO > index.html; exec python3 -m http.server "$PORT"`}
}

// get fetches http://addr/ and returns its body.
func get(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// nodeOf returns the node a service's running task is on.
func (e *swarmEnv) nodeOf(t *testing.T, id string) string {
	t.Helper()
	ts, err := e.mgr.TaskList(t.Context(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range ts {
		if task.Status.State == swarm.TaskStateRunning {
			return task.NodeID
		}
	}
	t.Fatalf("service %s runs no task", id)
	return ""
}

// warm has the third node, rid of the stack image, pull it back from
// the registry through Warm, as a node joining the swarm does.
func (e *swarmEnv) warm(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	eng, err := e.sw.Nodes[2].Client()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	want, err := e.s.cfg.Local.ImageInspect(ctx, e.image)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ImageRemove(ctx, e.image, image.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ImageInspect(ctx, want.ID); err == nil {
		t.Fatalf("node 3 still has the stack image %s", want.ID)
	}
	if err := e.s.Warm(ctx, eng, e.image); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ImageInspect(ctx, want.ID); err != nil {
		t.Fatalf("after Warm, node 3 lacks the stack image: %v", err)
	}
}

// TestSwarmRuntime: on a three-node swarm, three web instances of one app
// run as services spread over at least two nodes, each answering the
// host at the address Start returned, their output in the app's lines; a
// worker's exit status is reported; Stop ends an instance as stopped; a
// one-off runs on the manager with its exit status; a new runtime adopts
// what a detached one left; and when a node's engine stops, its instance
// is reported exited with ErrNodeDown while the others keep answering.
func TestSwarmRuntime(t *testing.T) {
	e := testSwarm(t)
	e.warm(t)
	var insts []Instance
	for i := 1; i <= 3; i++ {
		inst, err := e.s.Start(t.Context(), e.web(i))
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, inst)
	}
	nodes := map[string]bool{}
	for _, inst := range insts {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		if err := WaitServing(ctx, inst.Addr); err != nil {
			t.Fatalf("%s at %s: %v", inst.Name(), inst.Addr, err)
		}
		cancel()
		if got, want := get(t, inst.Addr), "hi from "+inst.Name(); got != want {
			t.Errorf("%s says %q, want %q", inst.Name(), got, want)
		}
		nodes[e.nodeOf(t, inst.ID)] = true
	}
	if len(nodes) < 2 {
		t.Errorf("three instances on %d node(s)", len(nodes))
	}
	// The local engine keeps no tag of the registry's: pruning the
	// builder's own frees the image.
	imgs, err := dockerClient(t).ImageList(t.Context(), image.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	regPrefix, _, _ := strings.Cut(e.s.cfg.Registry.Ref("x", "y"), "/")
	for _, im := range imgs {
		for _, tag := range im.RepoTags {
			if strings.HasPrefix(tag, regPrefix+"/") {
				t.Errorf("the local engine keeps the pushed tag %s", tag)
			}
		}
	}
	waitFor(t, "web.2's request line", func() bool {
		for _, l := range e.sink.get(e.app, "web.2") {
			if strings.Contains(l, `"GET / HTTP/1.1" 200`) {
				return true
			}
		}
		return false
	})

	// A worker's own exit.
	w := Spec{App: e.app, Release: 1, Type: "worker", Index: 1, Slug: e.image, Command: `sleep 1; echo bye; exit 3`}
	winst, err := e.s.Start(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	if ex := e.exits.wait(t, winst.ID); ex.Code != 3 || ex.Stopped {
		t.Errorf("worker exit: %+v", ex)
	}
	e.sink.waitLine(t, e.app, "worker.1", "bye")

	// A command that is not there: its status 127, from Start when the
	// task ended before Start saw it run, as an exit otherwise.
	bad := Spec{App: e.app, Release: 1, Type: "worker", Index: 2, Slug: e.image, Command: `no-such-command-here`}
	if binst, err := e.s.Start(t.Context(), bad); err != nil {
		if !strings.Contains(err.Error(), "status 127") {
			t.Errorf("a missing command: %v", err)
		}
	} else if ex := e.exits.wait(t, binst.ID); ex.Code != 127 {
		t.Errorf("a missing command's exit: %+v", ex)
	}

	// Stop.
	if err := e.s.Stop(t.Context(), insts[0].ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if ex := e.exits.wait(t, insts[0].ID); !ex.Stopped {
		t.Errorf("stopped instance's exit: %+v", ex)
	}
	if _, _, err := e.mgr.ServiceInspectWithRaw(t.Context(), insts[0].ID, swarm.ServiceInspectOptions{}); err == nil {
		t.Error("the stopped instance's service is still there")
	}

	// A one-off on the manager, from the same image.
	var out syncbuf.Buffer
	code, err := e.s.Run(t.Context(), Spec{App: e.app, Release: 1, Type: "run", Index: 7, Slug: e.image,
		Env: map[string]string{"GREETING": "hello"}, Command: `echo "$GREETING from $DYNO"; exit 7`}, Stdio{Stdout: &out, Stderr: &out})
	if err != nil || code != 7 || strings.TrimSpace(out.String()) != "hello from run.7" {
		t.Errorf("one-off: %d %v %q", code, err, out.String())
	}

	// A new runtime adopts what a detached one left.
	e.s.Detach()
	local := dockerClient(t)
	reg := e.s.cfg.Registry
	s2, err := NewSwarm(t.Context(), SwarmConfig{
		Manager: e.mgr, Local: local, Registry: reg, Logs: e.sink, OnExit: e.exits.onExit,
		Owner: "swarmtest", Poll: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.s = s2
	adopted, err := s2.Adopt(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(adopted) != 2 {
		t.Fatalf("adopted %d instances, want 2: %+v", len(adopted), adopted)
	}
	for _, a := range adopted {
		if a.Addr == "" || (a.Addr != insts[1].Addr && a.Addr != insts[2].Addr) {
			t.Errorf("adopted %s at %q; started at %s and %s", a.Name(), a.Addr, insts[1].Addr, insts[2].Addr)
		}
	}

	// A node goes down: its instance is reported, the other answers.
	victim, survivor := insts[1], insts[2]
	if e.nodeOf(t, victim.ID) == e.sw.Nodes[0].ID {
		victim, survivor = survivor, victim
	}
	node := e.sw.Node(e.nodeOf(t, victim.ID))
	if node == nil || node == e.sw.Nodes[0] {
		t.Fatalf("no instance runs on a worker node")
	}
	stopped := time.Now()
	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	ex := e.exits.wait(t, victim.ID)
	if !errors.Is(ex.Err, ErrNodeDown) && !errors.Is(ex.Err, ErrTaskGone) {
		t.Errorf("exit of the instance on the stopped node: %+v", ex)
	}
	t.Logf("the instance on the stopped node was reported %s after", time.Since(stopped).Round(100*time.Millisecond))
	if e.nodeOf(t, survivor.ID) != node.ID {
		if got := get(t, survivor.Addr); !strings.HasPrefix(got, "hi from") {
			t.Errorf("the surviving instance says %q", got)
		}
	}
}
