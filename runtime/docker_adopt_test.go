package runtime

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"paas/internal/syncbuf"
)

// adoptingDocker returns a second runtime on e's engine, as a restarted
// paasd has, with its own sink and exits. It is detached at the end of
// the test, after the app's containers are removed.
func adoptingDocker(t *testing.T, e *dockerEnv) (*Docker, *sink, *exits) {
	t.Helper()
	s, x := newSink(), newExits()
	d, err := NewDocker(t.Context(), DockerConfig{Client: e.cli, Logs: s, OnExit: x.onExit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.RemoveApp(ctx, e.app); err != nil {
			t.Errorf("removing app: %v", err)
		}
		d.Detach()
	})
	return d, s, x
}

// httpGet fetches url and fails the test unless it answers 200.
func httpGet(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}

// containerState returns the engine's state of container id ("running",
// "exited"), or "" when it is gone.
func containerState(t *testing.T, e *dockerEnv, id string) string {
	t.Helper()
	if containerGone(t, e.cli, id) {
		return ""
	}
	info, err := e.cli.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Status
}

// hasLineWith reports whether any line contains sub.
func hasLineWith(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}

func TestDockerDetachAndAdopt(t *testing.T) {
	e := testDocker(t)
	web := e.spec("web", 1, `echo "web up"; exec python3 -u -m http.server "$PORT"`)
	web.Web = true
	webInst, err := e.d.Start(t.Context(), web)
	if err != nil {
		t.Fatal(err)
	}
	crash, err := e.d.Start(t.Context(), e.spec("worker", 1, `echo "worker up"; exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	dies, err := e.d.Start(t.Context(), e.spec("worker", 2, `echo "worker up"; exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "web.1", "web up")
	e.sink.waitLine(t, e.app, "worker.1", "worker up")
	e.sink.waitLine(t, e.app, "worker.2", "worker up")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := WaitServing(ctx, webInst.Addr); err != nil {
		t.Fatal(err)
	}

	e.d.Detach()
	// The instances keep running and serving; the detached runtime
	// starts nothing more.
	for _, id := range []string{webInst.ID, crash.ID, dies.ID} {
		if st := containerState(t, e, id); st != "running" {
			t.Fatalf("container %s is %q after Detach", shortID(id), st)
		}
	}
	httpGet(t, "http://"+webInst.Addr+"/?while-detached")
	if _, err := e.d.Start(t.Context(), e.spec("worker", 3, "true")); !errors.Is(err, ErrShutdown) {
		t.Errorf("start after detach: %v", err)
	}
	// worker.2 dies while no paasd watches it.
	if err := e.cli.ContainerKill(t.Context(), dies.ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "worker.2 to exit", func() bool { return containerState(t, e, dies.ID) == "exited" })

	d2, sink2, exits2 := adoptingDocker(t, e)
	got, err := d2.adopt(t.Context(), e.app)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != webInst.ID || got[1].ID != crash.ID ||
		got[0].Addr != webInst.Addr || got[0].Name() != "web.1" || got[0].Release != 1 ||
		got[0].Command != web.Command || got[0].Started.Sub(webInst.Started).Abs() > time.Second ||
		got[1].Name() != "worker.1" || got[1].Addr != "" {
		t.Errorf("adopted %+v, want web.1 %+v and worker.1 %+v", got, webInst, crash)
	}
	if !containerGone(t, e.cli, dies.ID) {
		t.Error("container that exited before Adopt was not removed")
	}
	// Adopting again changes nothing.
	again, err := d2.adopt(t.Context(), e.app)
	if err != nil || len(again) != 2 || again[0] != got[0] || again[1] != got[1] {
		t.Errorf("second adopt: %+v, %v", again, err)
	}

	// New output reaches the new sink, old output is not replayed.
	httpGet(t, "http://"+webInst.Addr+"/?after-adoption")
	waitFor(t, "request line from the adopted web.1", func() bool {
		return hasLineWith(sink2.get(e.app, "web.1"), "GET /?after-adoption")
	})
	for _, name := range []string{"web.1", "worker.1"} {
		lines := sink2.get(e.app, name)
		if slices.Contains(lines, "web up") || slices.Contains(lines, "worker up") || hasLineWith(lines, "/?while-detached") {
			t.Errorf("old output of %s replayed: %q", name, lines)
		}
	}

	// A crash of an adopted instance is reported with its status and its
	// container removed.
	if err := e.cli.ContainerKill(t.Context(), crash.ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	ex := exits2.wait(t, crash.ID)
	if ex.Code != 128+9 || ex.Stopped || ex.Err != nil || ex.Instance.Name() != "worker.1" {
		t.Errorf("crash exit = %+v", ex)
	}
	if !containerGone(t, e.cli, crash.ID) {
		t.Error("crashed adopted container not removed")
	}

	// Stop works on an adopted instance as on a started one.
	if err := d2.Stop(t.Context(), webInst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if ex := exits2.wait(t, webInst.ID); !ex.Stopped || ex.Err != nil {
		t.Errorf("stop exit = %+v", ex)
	}
	if !containerGone(t, e.cli, webInst.ID) {
		t.Error("stopped adopted container not removed")
	}
	if left := d2.List(e.app); len(left) != 0 {
		t.Errorf("list after stop = %+v", left)
	}
	// The detached runtime reported none of it.
	e.exits.mu.Lock()
	defer e.exits.mu.Unlock()
	if len(e.exits.byID) != 0 {
		t.Errorf("detached runtime reported exits: %+v", e.exits.byID)
	}
}

func TestDockerDetachKillsOneOffs(t *testing.T) {
	e := testDocker(t)
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1, `echo "worker up"; exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	out := &syncbuf.Buffer{}
	ran := make(chan error, 1)
	go func() {
		_, err := e.d.Run(t.Context(), e.spec("run", 5, `echo started; exec sleep 1000`), Stdio{Stdout: out})
		ran <- err
	}()
	waitFor(t, "one-off to start", func() bool { return strings.Contains(out.String(), "started") })
	e.d.Detach()
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("one-off still running after Detach")
	}
	if left := appContainers(t, t.Context(), e.cli, e.app); len(left) != 1 || !strings.Contains(left[0], ".worker.1.") {
		t.Errorf("containers after Detach: %v, want only the worker", left)
	}
	if st := containerState(t, e, inst.ID); st != "running" {
		t.Errorf("worker is %q after Detach", st)
	}
	if _, err := e.d.Run(t.Context(), e.spec("run", 6, "true"), Stdio{}); !errors.Is(err, ErrShutdown) {
		t.Errorf("run after detach: %v", err)
	}
}

func TestDockerAdoptRemovesLeftoverOneOffs(t *testing.T) {
	e := testDocker(t)
	// A one-off container an earlier paasd left running.
	s := e.spec("run", 9, "exec sleep 1000")
	cfg, hc, err := oneOffConfig(s, Stdio{}, ContainerWorkDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.ensureNetwork(t.Context(), e.app); err != nil {
		t.Fatal(err)
	}
	id, err := e.d.create(t.Context(), cfg, hc, oneOffName(s))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cli.ContainerStart(t.Context(), id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	d2, _, _ := adoptingDocker(t, e)
	got, err := d2.adopt(t.Context(), e.app)
	if err != nil || len(got) != 0 {
		t.Errorf("adopt = %+v, %v", got, err)
	}
	if !containerGone(t, e.cli, id) {
		t.Error("leftover one-off not removed")
	}
}

func TestDockerOwnerScopesAdoption(t *testing.T) {
	e := testDocker(t)
	mine, err := NewDocker(t.Context(), DockerConfig{Client: e.cli, Owner: "owner-a-" + e.app})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := mine.Start(t.Context(), e.spec("worker", 1, `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	exited, err := mine.Start(t.Context(), e.spec("worker", 2, `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	mine.Detach()
	if err := e.cli.ContainerKill(t.Context(), exited.ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "worker.2 to exit", func() bool { return containerState(t, e, exited.ID) == "exited" })
	info, err := e.cli.ContainerInspect(t.Context(), inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Config.Labels[LabelOwner]; got != "owner-a-"+e.app {
		t.Errorf("owner label = %q", got)
	}

	// Another owner neither sees, adopts nor removes them.
	other, err := NewDocker(t.Context(), DockerConfig{Client: e.cli, Owner: "owner-b-" + e.app})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Detach()
	if got, err := other.adopt(t.Context(), e.app); err != nil || len(got) != 0 {
		t.Errorf("other owner adopted %+v, %v", got, err)
	}
	if got := other.List(e.app); len(got) != 0 {
		t.Errorf("other owner lists %+v", got)
	}
	if err := other.RemoveApp(t.Context(), e.app); err != nil {
		t.Fatal(err)
	}
	if containerState(t, e, inst.ID) != "running" || containerState(t, e, exited.ID) != "exited" {
		t.Fatal("another owner's Adopt or RemoveApp touched the containers")
	}

	// The same owner adopts the running one and removes the exited one.
	again, _, _ := adoptingDocker(t, e)
	again.cfg.Owner = "owner-a-" + e.app
	got, err := again.adopt(t.Context(), e.app)
	if err != nil || len(got) != 1 || got[0].ID != inst.ID {
		t.Errorf("owner adopted %+v, %v", got, err)
	}
	if !containerGone(t, e.cli, exited.ID) {
		t.Error("exited container of the owner not removed")
	}
}

// TestDockerAdoptedBurstLosesNothing: an adopted instance that writes far
// more than the engine's log keeps, faster than it is read, still hands
// every line to the sink, in order: its output is read attached, not
// from the engine's rotating log file.
func TestDockerAdoptedBurstLosesNothing(t *testing.T) {
	e := testDocker(t)
	const total = 300000 // 100-byte lines, more than the engine's log keeps
	// The burst starts once /tmp/go exists, created after adoption.
	cmd := `echo ready; exec python3 -c 'import os, sys, time
while not os.path.exists("/tmp/go"):
    time.sleep(0.01)
w = sys.stdout.buffer
w.writelines(b"%09d %s\n" % (i, b"x" * 90) for i in range(` + strconv.Itoa(total) + `))
w.write(b"done\n"); w.flush()
time.sleep(1000)'`
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1, cmd))
	if err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "worker.1", "ready")
	e.d.Detach()
	d2, sink2, _ := adoptingDocker(t, e)
	if got, err := d2.adopt(t.Context(), e.app); err != nil || len(got) != 1 || got[0].ID != inst.ID {
		t.Fatalf("adopted %+v, %v", got, err)
	}
	ex, err := e.cli.ContainerExecCreate(t.Context(), inst.ID, container.ExecOptions{Cmd: []string{"touch", "/tmp/go"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cli.ContainerExecStart(t.Context(), ex.ID, container.ExecStartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNumbered(t, sink2, e.app, "worker.1", total)
}
