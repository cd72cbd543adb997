package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"paas/addons"
	"paas/internal/swarmtest"
	"paas/internal/syncbuf"
	"paas/loadgen"
	"paas/registry"
)

// swarmServer is a paasd with PAAS_SCHEDULER=swarm over a test swarm of
// three engines (each in a network namespace of its own, see
// swarmtest), the host's engine building the images, the registry on
// the host's address of the swarm's subnet.
type swarmServer struct {
	*server
	sw       *swarmtest.Swarm
	mgr      *client.Client
	settings []string // paasd's settings
}

func startSwarmServer(t *testing.T) *swarmServer {
	t.Helper()
	sw, mgr := startTestSwarm(t)
	s := newServer(t)
	env := swarmEnv(t, sw, s.dataDir, "/etc/docker/certs.d")
	env = append(env, "PAAS_RUNTIME=docker", "PAAS_KEEP_BUILDS=2")
	s.start(env...)
	return &swarmServer{server: s, sw: sw, mgr: mgr, settings: env}
}

// startTestSwarm forms a swarm of three engines that have the stack
// image and images of the host's engine, removed at the end of the test.
func startTestSwarm(t *testing.T, images ...string) (*swarmtest.Swarm, *client.Client) {
	t.Helper()
	requireDocker(t)
	if why := swarmtest.Requirement(); why != "" {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sw, err := swarmtest.Start(ctx, swarmtest.Config{Nodes: 3, Managers: 1, Images: append([]string{stackImage()}, images...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Error(err)
		}
	})
	mgr, err := sw.Manager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	return sw, mgr
}

// swarmEnv returns the settings of a paasd on dataDir that runs its
// apps on sw, and has every node trust the registry it will serve: its
// directory and CA are made first, as paasd makes them, so that the
// nodes trust it before paasd's first converge.
//
// certsDir is where paasd's local engine reads registry CAs.
func swarmEnv(t *testing.T, sw *swarmtest.Swarm, dataDir, certsDir string) []string {
	t.Helper()
	ln, err := net.Listen("tcp4", net.JoinHostPort(sw.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	regAddr := ln.Addr().String()
	ln.Close()
	reg, err := registry.New(registry.Config{Dir: filepath.Join(dataDir, "registry"), Addr: regAddr})
	if err != nil {
		t.Fatal(err)
	}
	// Each node trusts the registry's CA, as `nodes:add` makes an ssh
	// node do; these engines read an /etc/docker of their own.
	for _, n := range sw.Nodes {
		d := filepath.Join(n.CertsDir(), regAddr)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "ca.crt"), reg.CACertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// paasd makes its local engine trust it.
	hostCerts := filepath.Join(certsDir, regAddr)
	t.Cleanup(func() {
		got, err := os.ReadFile(filepath.Join(hostCerts, "ca.crt"))
		if err != nil || string(got) != string(reg.CACertPEM()) {
			t.Errorf("paasd did not make the local engine trust its registry: %v", err)
		}
		os.RemoveAll(hostCerts)
	})
	return []string{"PAAS_SCHEDULER=swarm", "PAAS_SWARM_MANAGER=" + sw.Nodes[0].Host,
		"PAAS_REGISTRY_ADDR=" + regAddr, "PAAS_STOP_TIMEOUT=10s", "PAAS_DOCKER_CERTS_DIR=" + certsDir}
}

// placement returns the swarm node of each running instance of app:
// "web.1" → node ID.
func (s *swarmServer) placement(app string) map[string]string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	svcs, err := s.mgr.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", "paas.app="+app))})
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for _, svc := range svcs {
		ts, err := s.mgr.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
		if err != nil {
			continue // removed meanwhile
		}
		for _, task := range ts {
			if task.Status.State == swarm.TaskStateRunning && task.DesiredState == swarm.TaskStateRunning {
				out[svc.Spec.Labels["paas.type"]+"."+svc.Spec.Labels["paas.index"]] = task.NodeID
			}
		}
	}
	return out
}

// services returns the IDs of app's services, sorted.
func (s *swarmServer) services(app string) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	svcs, err := s.mgr.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", "paas.app="+app))})
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, svc := range svcs {
		ids = append(ids, svc.ID)
	}
	slices.Sort(ids)
	return ids
}

// answering returns which web instances answered n requests through
// the router.
func (s *swarmServer) answering(app string, n int) map[string]int {
	s.t.Helper()
	seen := map[string]int{}
	for range n {
		code, body, _ := s.get(app, "/")
		if code != 200 {
			s.t.Fatalf("GET / of %s: %d %s", app, code, body)
		}
		f := strings.Fields(body)
		if len(f) >= 3 {
			seen[f[2]]++
		}
	}
	return seen
}

// TestSwarmScheduler runs an app on a three-node swarm through the
// usual commands: a push; ps:scale web=3 puts instances on at least two
// nodes, each answering through the router; a redeploy under load fails
// no request; run and logs -t work; rollback works; and when the engine
// of a node holding an instance stops, the instance is started on
// another node and the app keeps answering.
func TestSwarmScheduler(t *testing.T) {
	s := startSwarmServer(t)
	dir := s.newRepo("graceful", "spread")
	r := s.push(dir, "paas", "main")
	requireOK(t, "first push", r)
	if !strings.Contains(r.stderr, "release phase ran for v1") || !strings.Contains(r.stderr, `health check "web check" passed`) {
		t.Fatalf("push output lacks the release phase or the health check:\n%s", r.stderr)
	}
	s.mustGet("spread", "/", "ok from web.1 v1")

	requireOK(t, "scale", s.paas(dir, "", "ps:scale", "web=3"))
	where := s.placement("spread")
	nodes := map[string]bool{}
	for _, n := range where {
		nodes[n] = true
	}
	if len(where) != 3 || len(nodes) < 2 {
		t.Fatalf("three web instances on the swarm, placed %v", where)
	}
	if seen := s.answering("spread", 30); len(seen) != 3 {
		t.Fatalf("the router reached %v, want web.1, web.2 and web.3", seen)
	}
	ps := s.paas(dir, "", "ps").stdout
	for name, node := range where {
		if row := rowOf(ps, name); !strings.Contains(row, s.nodeName(node)) {
			t.Errorf("ps does not show %s's node %s:\n%s", name, s.nodeName(node), ps)
		}
	}

	// Logs of every node's instances reach the one stream.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	logs := &syncbuf.Buffer{}
	tail := exec.CommandContext(ctx, filepath.Join(binDir, "paas"), "logs", "-t", "-n", "0", "--ps", "web")
	tail.Dir, tail.Env, tail.Stdout = dir, s.env(), logs
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	for i := range 3 {
		s.get("spread", "/?delay=0.5&n="+string(rune('a'+i)))
	}

	load := loadgen.Start(ctx, loadgen.Config{
		URL: "http://" + s.httpAddr + "/?delay=0.02", Host: "spread.localhost", Conns: 12, Timeout: 20 * time.Second,
	})
	step := func(name string, f func()) {
		t.Helper()
		before := load.Snapshot()
		f()
		after := load.Snapshot()
		if after.Failures != before.Failures {
			t.Fatalf("%s: %d requests failed: statuses %v, errors %v", name, after.Failures-before.Failures, after.ByStatus, after.Errors)
		}
		if after.Requests-before.Requests < 10 {
			t.Fatalf("%s: only %d requests were made during it", name, after.Requests-before.Requests)
		}
	}
	step("redeploy", func() {
		replaceInFile(t, dir+"/release.py", "release phase ran", "release phase (2) ran")
		s.commitAll(dir, "two")
		requireOK(t, "push", s.push(dir, "paas", "main"))
		s.mustGet("spread", "/", " v2\n")
	})
	step("drain", func() {
		where := s.placement("spread")
		victim := ""
		for _, n := range where {
			if n != s.sw.Nodes[0].ID {
				victim = n
			}
		}
		if victim == "" {
			t.Fatalf("no instance on a worker node: %v", where)
		}
		requireOK(t, "nodes:drain", s.ssh("nodes:drain "+s.nodeName(victim)))
		for name, n := range s.placement("spread") {
			if n == victim {
				t.Fatalf("%s still runs on the drained node", name)
			}
		}
		requireOK(t, "nodes:activate", s.ssh("nodes:activate "+s.nodeName(victim)))
	})
	res := load.Stop()
	if res.Failures != 0 {
		t.Fatalf("%d of %d requests failed: %v %v", res.Failures, res.Requests, res.ByStatus, res.Errors)
	}
	t.Logf("%d requests, none failed, by release %v", res.Requests, res.ByRelease)
	if !strings.Contains(logs.String(), "delaying a request by 0.5 s") {
		t.Errorf("the instances' lines did not reach logs -t:\n%s", logs.String())
	}

	// A one-off on the app's image, on the swarm's manager.
	run := s.paas(dir, "", "run", "--", "bash", "-c", "echo one-off of $PAAS_RELEASE")
	requireOK(t, "run", run)
	if !strings.Contains(run.stdout, "one-off of v2") {
		t.Fatalf("run: %q", run.stdout)
	}

	// Rollback.
	rb := s.paas(dir, "", "rollback")
	requireOK(t, "rollback", rb)
	s.mustGet("spread", "/", " v3\n")
	if !strings.Contains(rb.stdout, "Rollback to v1") {
		t.Fatalf("rollback: %s", rb.stdout)
	}

	// A new paasd takes over: it adopts the services as they run.
	before := s.services("spread")
	s.server = s.successor(s.settings...)
	if after := s.services("spread"); !slices.Equal(before, after) || len(after) != 3 {
		t.Fatalf("services before the new paasd %v, after %v", before, after)
	}
	if seen := s.answering("spread", 30); len(seen) != 3 {
		t.Fatalf("after the new paasd took over, the router reached %v", seen)
	}
	if ps := s.paas(dir, "", "ps").stdout; strings.Count(ps, " up ") != 3 {
		t.Fatalf("ps after the new paasd took over:\n%s", ps)
	}

	// A third build: the builds of the two newest releases are kept
	// (b3, and b1 of the rollback), b2 is pruned, in the registry too.
	replaceInFile(t, dir+"/release.py", "release phase (2) ran", "release phase (3) ran")
	s.commitAll(dir, "three")
	requireOK(t, "third push", s.push(dir, "paas", "main"))
	s.mustGet("spread", "/", " v4\n")
	reg, err := registry.New(registry.Config{Dir: filepath.Join(s.dataDir, "registry"), Addr: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "b2 pruned from the registry", func() bool {
		tags, err := reg.Tags(ctx, "paas/spread")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(tags, " ") == "b1 b3"
	})

	// A node's engine stops: its instances start elsewhere.
	where = s.placement("spread")
	victim := ""
	for _, n := range where {
		if n != s.sw.Nodes[0].ID {
			victim = n
		}
	}
	if victim == "" {
		t.Fatalf("no instance on a worker node: %v", where)
	}
	// The app is loaded meanwhile: the requests in flight on the node
	// and those sent to it before its instances' exits are seen fail;
	// the rest must not.
	load = loadgen.Start(ctx, loadgen.Config{
		URL: "http://" + s.httpAddr + "/", Host: "spread.localhost", Conns: 4, Timeout: 20 * time.Second,
	})
	stopped := time.Now()
	if err := s.sw.Node(victim).Stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "three instances up on the nodes still up", func() bool {
		w := s.placement("spread")
		if len(w) != 3 {
			return false
		}
		for _, n := range w {
			if n == victim {
				return false
			}
		}
		ps := s.paas(dir, "", "ps").stdout
		return strings.Count(ps, " up ") == 3
	})
	back := time.Since(stopped)
	res = load.Stop()
	t.Logf("three instances served again %s after the engine stopped; %d of %d requests failed meanwhile (%v %v)",
		back.Round(100*time.Millisecond), res.Failures, res.Requests, res.ByStatus, res.Errors)
	if seen := s.answering("spread", 30); len(seen) != 3 {
		t.Fatalf("after the node went down, the router reached %v", seen)
	}
	if st := rowOf(s.ssh("nodes").stdout, s.nodeName(victim)); !strings.Contains(st, "down") {
		t.Errorf("nodes does not show the stopped node down: %q", st)
	}
}

// nodeName returns paas's name of a swarm node, from `paas nodes`.
func (s *swarmServer) nodeName(id string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, _, err := s.mgr.NodeInspectWithRaw(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	if name := n.Spec.Labels["paas.name"]; name != "" {
		return name
	}
	// Named the first time paasd lists the nodes.
	s.ssh("nodes")
	n, _, err = s.mgr.NodeInspectWithRaw(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return n.Spec.Labels["paas.name"]
}

// TestSwarmMigration: a server running an app on the local Docker
// engine is restarted with PAAS_SCHEDULER=swarm (a successor paasd takes
// over): its instances are replaced by services on the swarm, under
// load, with no failed request, and none is left on the local engine.
func TestSwarmMigration(t *testing.T) {
	cli := requireDocker(t)
	sw, mgr := startTestSwarm(t)
	s := startServer(t, "PAAS_RUNTIME=docker", "PAAS_STOP_TIMEOUT=10s")
	dir := s.newRepo("graceful", "mover")
	requireOK(t, "push", s.push(dir, "paas", "main"))
	requireOK(t, "scale", s.paas(dir, "", "ps:scale", "web=2"))
	s.mustGet("mover", "/", "ok from web.")

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	load := loadgen.Start(ctx, loadgen.Config{
		URL: "http://" + s.httpAddr + "/?delay=0.02", Host: "mover.localhost", Conns: 8, Timeout: 20 * time.Second,
	})
	n := s.successor(append(swarmEnv(t, sw, s.dataDir, "/etc/docker/certs.d"), "PAAS_RUNTIME=docker")...)
	ss := &swarmServer{server: n, sw: sw, mgr: mgr}
	// A move that fails (an instance slow to boot on a loaded machine)
	// is tried again a minute later.
	waitUntil(t, 5*time.Minute, "both web instances on the swarm", func() bool {
		return len(ss.placement("mover")) == 2 && strings.Count(n.paas(dir, "", "ps").stdout, " up ") == 2
	})
	waitUntil(t, time.Minute, "no instance left on the local engine", func() bool {
		cs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "paas.app=mover"))})
		return err == nil && len(cs) == 0
	})
	res := load.Stop()
	if res.Failures != 0 {
		t.Fatalf("%d of %d requests failed while the app moved: %v %v", res.Failures, res.Requests, res.ByStatus, res.Errors)
	}
	if res.Requests < 50 {
		t.Fatalf("only %d requests were made while the app moved", res.Requests)
	}
	t.Logf("%d requests while the app moved to the swarm, none failed", res.Requests)
	n.mustGet("mover", "/", "ok from web.")

	// Back to the local scheduler: refused before the running paasd is
	// asked to hand over, and the app stays where it is.
	before := ss.services("mover")
	bctx, bcancel := context.WithTimeout(ctx, time.Minute)
	defer bcancel()
	back := exec.CommandContext(bctx, filepath.Join(binDir, "paasd"))
	back.Env = n.paasdEnv("PAAS_RUNTIME=docker", "PAAS_SCHEDULER=local", "PAAS_SWARM_MANAGER="+sw.Nodes[0].Host,
		"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=127.0.0.1:0")
	out, err := back.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "moving apps back from the swarm is not supported") || !strings.Contains(string(out), "(mover)") {
		t.Errorf("paasd with PAAS_SCHEDULER=local over the swarm's apps: %v\n%s", err, out)
	}
	if after := ss.services("mover"); !slices.Equal(before, after) {
		t.Errorf("services before %v, after %v", before, after)
	}
	n.mustGet("mover", "/", "ok from web.")
}

// TestSwarmOnItsManager runs paasd as the README sets it up: its own
// engine is the swarm's manager, which builds, pushes to the registry
// and runs tasks itself. A Redis add-on runs on the manager, beside its
// volume, and an app whose instances are spread over the nodes counts
// its hits in it: each instance, whatever its node, reaches it over the
// app's overlay network. A new paasd taking over adopts the swarm's
// services, leaving the task containers on its own engine to them, and
// the add-on keeps its data.
func TestSwarmOnItsManager(t *testing.T) {
	redis := addonImage(t, "redis")
	sw, mgr := startTestSwarm(t, redis)
	s := newServer(t)
	env := append(swarmEnv(t, sw, s.dataDir, sw.Nodes[0].CertsDir()),
		"DOCKER_HOST="+sw.Nodes[0].Host, "PAAS_SWARM_MANAGER=", "PAAS_RUNTIME=docker",
		// The engine is in a network namespace of its own: the
		// host's firewall does not see its bridges.
		"PAAS_HOST_FIREWALL=off")
	s.start(env...)
	if strings.Contains(s.out.String(), "add-ons run on the local engine") {
		t.Error("paasd says its add-ons are out of the apps' reach on its own manager")
	}
	ss := &swarmServer{server: s, sw: sw, mgr: mgr}
	const app = "onmgr"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	r := s.ssh("addons:create " + app + " redis")
	requireOK(t, "addons:create", r)
	if strings.Contains(r.stdout+r.stderr, "Building") {
		t.Errorf("the manager built the redis image it was given:\n%s%s", r.stdout, r.stderr)
	}
	dir := s.newRepo("counter", app)
	requireOK(t, "push", s.push(dir, "paas", "main"))
	requireOK(t, "scale", s.paas(dir, "", "ps:scale", "web=3"))
	where, nodes := ss.placement(app), map[string]bool{}
	for _, n := range where {
		nodes[n] = true
	}
	if len(where) != 3 || len(nodes) < 2 {
		t.Errorf("three web instances on the swarm, placed %v", where)
	}
	last := ss.countHits(app, 0, 30)
	ss.addonOnManager(app + "-redis")

	before := ss.services(app)
	ss.server = s.successor(env...)
	if after := ss.services(app); !slices.Equal(before, after) || len(after) != 3 {
		t.Fatalf("instances before the new paasd %v, after %v", before, after)
	}
	if ps := ss.paas(dir, "", "ps").stdout; strings.Count(ps, " up ") != 3 {
		t.Fatalf("ps after the new paasd took over:\n%s", ps)
	}
	ss.countHits(app, last, 30)
	ss.addonOnManager(app + "-redis")
}

// addonImage returns the image of engine's add-ons, built on the host's
// engine when it lacks a current one, for a test swarm's nodes to have.
func addonImage(t *testing.T, engine string) string {
	t.Helper()
	cli := requireDocker(t)
	d, err := addons.NewDocker(addons.DockerConfig{Client: cli, StackImage: stackImage(),
		Network: func(context.Context, string) (string, error) { return "", errors.New("no network") }})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ref, err := d.Image(t.Context(), engine, &out)
	if err != nil {
		t.Fatalf("the %s image: %v\n%s", engine, err, out.String())
	}
	return ref
}

// countHits asks app n times through the router for its hit count in
// Redis, and returns the last: every answer is 200, counts go up one by
// one from after, and every one of the 3 web instances answers.
func (s *swarmServer) countHits(app string, after, n int) int {
	s.t.Helper()
	seen := map[string]bool{}
	for range n {
		code, body, _ := s.get(app, "/")
		var hits int
		var dyno string
		if code != 200 {
			s.t.Fatalf("GET / of %s: %d %s", app, code, body)
		}
		if _, err := fmt.Sscanf(body, "hits %d from %s", &hits, &dyno); err != nil {
			s.t.Fatalf("GET / of %s: %q", app, body)
		}
		if hits != after+1 {
			s.t.Fatalf("hit %d after %d: %q", hits, after, body)
		}
		after = hits
		seen[dyno] = true
	}
	if len(seen) != 3 {
		s.t.Errorf("the router reached %v", seen)
	}
	return after
}

// addonOnManager checks that add-on name's container runs on the
// swarm's manager, paasd's own engine, with its data volume, and that no
// other node has either.
func (s *swarmServer) addonOnManager(name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	insp, err := s.mgr.ContainerInspect(ctx, "paas.addon."+name)
	if err != nil {
		s.t.Fatal(err)
	}
	if !insp.State.Running || insp.RestartCount != 0 {
		s.t.Errorf("add-on %s: running %v, restarted %d times", name, insp.State.Running, insp.RestartCount)
	}
	if !slices.ContainsFunc(insp.Mounts, func(m container.MountPoint) bool { return m.Name == "paas-addon-"+name }) {
		s.t.Errorf("add-on %s has no volume of its own: %+v", name, insp.Mounts)
	}
	for _, n := range s.sw.Nodes[1:] {
		cli, err := n.Client()
		if err != nil {
			s.t.Fatal(err)
		}
		_, cerr := cli.ContainerInspect(ctx, "paas.addon."+name)
		_, verr := cli.VolumeInspect(ctx, "paas-addon-"+name)
		cli.Close()
		if cerr == nil || verr == nil {
			s.t.Errorf("node %s has the add-on's container (%v) or volume (%v)", n.Host, cerr, verr)
		}
	}
}
