package runtime

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"paas/internal/dockertest"
	"paas/stack"
)

// heldDocker is testDocker with network holders run from the stack
// image, as paasd has.
func heldDocker(t *testing.T) *dockerEnv {
	t.Helper()
	return testDockerWith(t, func(c *DockerConfig) { c.HolderImage = dockertest.StackImage(t, c.Client) })
}

// webSpec returns web.index of the test's app: a web server whose
// /index.html says "hi".
func (e *dockerEnv) webSpec(index int) Spec {
	s := e.spec("web", index, `echo hi > index.html; exec python3 -m http.server "$PORT"`)
	s.Web = true
	return s
}

// startHeld starts s once a network holder is ready for it, and returns
// the instance and its holder's ID; it fails the test unless the
// instance's container joined that holder's network namespace.
func (e *dockerEnv) startHeld(t *testing.T, s Spec) (Instance, string) {
	t.Helper()
	e.d.prepareHolder(s.App, containerPort(s))
	inst, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return inst, e.joined(t, inst)
}

// joined returns the ID of the network holder inst joined, and waits
// until inst serves; it fails the test unless inst joined one.
func (e *dockerEnv) joined(t *testing.T, inst Instance) string {
	t.Helper()
	info, err := e.cli.ContainerInspect(t.Context(), inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	holder := info.Config.Labels[LabelHolder]
	if holder == "" || string(info.HostConfig.NetworkMode) != "container:"+holder || len(info.HostConfig.PortBindings) != 0 {
		t.Fatalf("%s: holder label %q, network mode %q, port bindings %v", inst.Name(), holder,
			info.HostConfig.NetworkMode, info.HostConfig.PortBindings)
	}
	waitServing(t, inst.Addr)
	return holder
}

// start starts s and fails the test when it cannot.
func (e *dockerEnv) start(t *testing.T, s Spec) Instance {
	t.Helper()
	inst, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// waitServing waits until a web server answers at addr.
func waitServing(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := WaitServing(ctx, addr); err != nil {
		t.Fatalf("nothing serves at %q: %v", addr, err)
	}
}

func TestDockerWebInstanceJoinsHolder(t *testing.T) {
	e := heldDocker(t)
	// With no holder ready, a web instance makes its own network
	// namespace, and a holder is made for the next start.
	first := e.start(t, e.webSpec(1))
	if info, err := e.cli.ContainerInspect(t.Context(), first.ID); err != nil || info.Config.Labels[LabelHolder] != "" ||
		string(info.HostConfig.NetworkMode) != networkName(e.app) {
		t.Fatalf("web.1 with no holder ready: %v", err)
	}
	inst := e.start(t, e.webSpec(2))
	holder := e.joined(t, inst)
	httpGet(t, "http://"+inst.Addr+"/index.html")
	if inst.Direct == "" {
		t.Fatal("no direct address: the app network's bridge is an interface of this test's namespace")
	}
	httpGet(t, "http://"+inst.Direct+"/index.html")
	if inst.Port != 5000 {
		t.Errorf("port = %d", inst.Port)
	}

	// The holder is on the app's network, publishes the port and is
	// confined like an instance, more tightly.
	h, err := e.cli.ContainerInspect(t.Context(), holder)
	if err != nil {
		t.Fatal(err)
	}
	hc := h.HostConfig
	if h.Config.Labels[LabelNetHolder] != "true" || h.Config.Labels[LabelApp] != e.app || h.Config.User != stack.User ||
		!slices.Equal(h.Config.Entrypoint, []string{"sleep"}) || !slices.Equal(h.Config.Cmd, []string{"infinity"}) ||
		string(hc.NetworkMode) != networkName(e.app) || !hc.ReadonlyRootfs || !slices.Equal(hc.CapDrop, []string{"ALL"}) ||
		!slices.Contains(hc.SecurityOpt, noNewPrivileges) || hc.Memory != holderMemory ||
		hc.PidsLimit == nil || *hc.PidsLimit != holderPids || !publishes(h, inst.Addr, "127.0.0.1") {
		t.Errorf("holder: labels %v, user %q, argv %v %v, network %s, read-only %v, cap drop %v, security %v, memory %d, pids %v, ports %v",
			h.Config.Labels, h.Config.User, h.Config.Entrypoint, h.Config.Cmd, hc.NetworkMode, hc.ReadonlyRootfs,
			hc.CapDrop, hc.SecurityOpt, hc.Memory, hc.PidsLimit, h.NetworkSettings.Ports)
	}

	// A runtime that does not watch it lists the same addresses.
	d2, err := NewDocker(t.Context(), DockerConfig{Client: e.cli})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Docker{e.d, d2} {
		got := d.List(e.app)
		if len(got) != 2 || got[0].ID != first.ID || got[0].Addr != first.Addr ||
			got[1].ID != inst.ID || got[1].Addr != inst.Addr || got[1].Direct != inst.Direct || got[1].Port != 5000 {
			t.Errorf("list = %+v, want %+v and %+v", got, first, inst)
		}
	}

	// A second holder was made beside it, for a start right after.
	second := e.start(t, e.webSpec(3))
	if secondHolder := e.joined(t, second); secondHolder == holder {
		t.Errorf("web.3 joined web.2's holder %s", shortID(secondHolder))
	}

	if err := e.d.Stop(t.Context(), inst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if ex := e.exits.wait(t, inst.ID); !ex.Stopped {
		t.Errorf("exit = %+v", ex)
	}
	if !containerGone(t, e.cli, inst.ID) || !containerGone(t, e.cli, holder) {
		t.Error("the instance's container or its network holder is still there after Stop")
	}
	if containerState(t, e, first.ID) != "running" {
		t.Error("stopping web.2 ended web.1")
	}
	// The next start takes a holder made once web.2 was stopped.
	next := e.start(t, e.webSpec(4))
	if nextHolder := e.joined(t, next); nextHolder == holder {
		t.Errorf("web.4 joined web.2's holder %s", shortID(nextHolder))
	}
}

func TestDockerHolderEndEndsInstance(t *testing.T) {
	e := heldDocker(t)
	inst, holder := e.startHeld(t, e.webSpec(1))
	if err := e.cli.ContainerRemove(t.Context(), holder, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	ex := e.exits.wait(t, inst.ID)
	if ex.Stopped || ex.Code != 137 {
		t.Errorf("exit = %+v, want a crash by SIGKILL", ex)
	}
	if !containerGone(t, e.cli, inst.ID) {
		t.Error("the instance's container is still there after its exit")
	}
}

func TestDockerHolderAdopt(t *testing.T) {
	e := heldDocker(t)
	inst, holder := e.startHeld(t, e.webSpec(1))
	orphan, orphanHolder := e.startHeld(t, e.webSpec(2))
	stopped, stoppedHolder := e.startHeld(t, e.webSpec(3))
	// A holder an earlier paasd made ahead of a start that never came.
	left, err := e.d.makeHolder(t.Context(), e.app, 5000)
	if err != nil {
		t.Fatal(err)
	}

	e.d.Detach()
	if containerState(t, e, holder) != "running" || containerState(t, e, inst.ID) != "running" {
		t.Fatal("Detach ended an instance or its holder")
	}
	// web.2 loses its holder while no paasd watches it.
	if err := e.cli.ContainerRemove(t.Context(), orphanHolder, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}

	d2, _, exits2 := adoptingDocker(t, e)
	// Stopping an instance the runtime does not watch removes its holder
	// too.
	if err := d2.Stop(t.Context(), stopped.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !containerGone(t, e.cli, stopped.ID) || !containerGone(t, e.cli, stoppedHolder) {
		t.Error("an unwatched instance's container or its network holder is still there after Stop")
	}
	got, err := d2.adopt(t.Context(), e.app)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != inst.ID || got[0].Addr != inst.Addr || got[0].Direct != inst.Direct || got[0].Port != inst.Port {
		t.Errorf("adopted %+v, want %+v", got, inst)
	}
	httpGet(t, "http://"+inst.Addr+"/index.html")
	if !containerGone(t, e.cli, left.id) {
		t.Error("a holder of no instance was not removed")
	}
	if !containerGone(t, e.cli, orphan.ID) {
		t.Error("an instance whose holder is gone was adopted, not removed")
	}
	if containerState(t, e, holder) != "running" {
		t.Error("the adopted instance's holder was removed")
	}

	// The adopting runtime follows the holder too.
	if err := e.cli.ContainerKill(t.Context(), holder, "KILL"); err != nil {
		t.Fatal(err)
	}
	if ex := exits2.wait(t, inst.ID); ex.Stopped {
		t.Errorf("exit = %+v, want a crash", ex)
	}
	if !containerGone(t, e.cli, inst.ID) || !containerGone(t, e.cli, holder) {
		t.Error("the instance's container or its network holder is still there after its exit")
	}
}

func TestDockerHolderOfEarlierPaasdRemoved(t *testing.T) {
	owner := randomApp()
	var image string
	e := testDockerWith(t, func(c *DockerConfig) {
		image = dockertest.StackImage(t, c.Client)
		c.HolderImage, c.Owner = image, owner
	})
	inst, holder := e.startHeld(t, e.webSpec(1))
	// A paasd of the same data dir, killed while making a holder: the
	// engine creates it after this runtime adopted what there was.
	cfg, hc := holderConfig(e.app, 5000, "127.0.0.1", image, "an-earlier-paasd")
	cfg.Labels[LabelOwner] = owner
	left, err := e.cli.ContainerCreate(t.Context(), cfg, hc, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the earlier paasd's holder to be removed", func() bool { return containerGone(t, e.cli, left.ID) })
	if containerState(t, e, holder) != "running" || containerState(t, e, inst.ID) != "running" {
		t.Error("this runtime's instance or its holder was removed")
	}
	httpGet(t, "http://"+inst.Addr+"/index.html")
}

func TestDockerHolderJudgedAfterEngineRestart(t *testing.T) {
	e := heldDocker(t)
	inst, _ := e.startHeld(t, e.webSpec(1))
	e.d.mu.Lock()
	di := e.d.insts[inst.ID]
	e.d.mu.Unlock()
	// What the engine watch asks of an instance once the engine answers
	// again: its holder still publishes its address, so it survived.
	v := e.d.judge(t.Context(), di)
	if v.stream == nil {
		t.Fatal("a running instance whose holder still publishes its address was taken for gone")
	}
	v.stream.release()
}
