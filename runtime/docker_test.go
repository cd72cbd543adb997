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
	"github.com/docker/docker/api/types/network"

	"paas/internal/syncbuf"
)

func TestDockerWebInstance(t *testing.T) {
	t.Setenv("PAAS_RUNTIME_TEST_LEAK", "from-paasd")
	e := testDocker(t)
	img := e.appImage(t, `mkdir -p /app/.profile.d && echo 'export FROM_PROFILE=yes' > /app/.profile.d/a.sh`)
	s := Spec{
		App: e.app, Release: 3, Type: "web", Index: 1, Web: true, Slug: img,
		Command: `env > env.txt; echo "serving $PORT"; exec python3 -m http.server "$PORT"`,
		Env:     map[string]string{"GREETING": "hello world", "PORT": "1"},
		Memory:  128 << 20, CPUs: 0.5, StopTimeout: 7 * time.Second,
	}
	inst, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID == "" || inst.App != e.app || inst.Release != 3 || inst.Name() != "web.1" || inst.Started.IsZero() ||
		!strings.HasPrefix(inst.Addr, "127.0.0.1:") || strings.HasSuffix(inst.Addr, ":5000") {
		t.Errorf("instance = %+v", inst)
	}

	info, err := e.cli.ContainerInspect(t.Context(), inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/paas." + e.app + ".web.1.v3"; info.Name != want {
		t.Errorf("name = %q, want %q", info.Name, want)
	}
	for k, v := range map[string]string{"paas.app": e.app, "paas.release": "3", "paas.type": "web", "paas.index": "1", "paas.managed": "true"} {
		if info.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, info.Config.Labels[k], v)
		}
	}
	hc := info.HostConfig
	if hc.Memory != 128<<20 || hc.NanoCPUs != 5e8 || hc.Init == nil || !*hc.Init || hc.AutoRemove ||
		string(hc.NetworkMode) != "paas-"+e.app || (hc.RestartPolicy.Name != "no" && hc.RestartPolicy.Name != "") {
		t.Errorf("host config: memory %d, cpus %d, init %v, autoremove %v, network %s, restart %q",
			hc.Memory, hc.NanoCPUs, hc.Init, hc.AutoRemove, hc.NetworkMode, hc.RestartPolicy.Name)
	}
	if info.Config.StopTimeout == nil || *info.Config.StopTimeout != 7 {
		t.Errorf("stop timeout = %v", info.Config.StopTimeout)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	e.sink.waitLine(t, e.app, "web.1", "serving 5000")
	if err := WaitServing(ctx, inst.Addr); err != nil {
		t.Fatal(err)
	}
	env := getEnv(t, ctx, "http://"+inst.Addr+"/env.txt")
	for k, v := range map[string]string{
		"PORT": "5000", "HOME": "/app", "PWD": "/app", "DYNO": "web.1",
		"GREETING": "hello world", "FROM_PROFILE": "yes",
	} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"PAAS_RUNTIME_TEST_LEAK", "PAAS_TTY_SIZE"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s = %q reached the instance", k, v)
		}
	}

	// A second runtime, as a restarted paasd has, finds the instance.
	d2, err := NewDocker(t.Context(), DockerConfig{Client: e.cli})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Docker{e.d, d2} {
		got := d.List(e.app)
		if len(got) != 1 || got[0].ID != inst.ID || got[0].Addr != inst.Addr || got[0].Release != 3 ||
			got[0].Type != "web" || got[0].Index != 1 || got[0].Command != s.Command ||
			got[0].Started.Sub(inst.Started).Abs() > 2*time.Second {
			t.Errorf("list = %+v, want %+v", got, inst)
		}
	}
	if all := d2.List(""); len(all) == 0 {
		t.Error("list of all apps is empty")
	}

	if err := e.d.Stop(t.Context(), inst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ex := e.exits.wait(t, inst.ID)
	if !ex.Stopped || ex.Instance.ID != inst.ID || ex.At.IsZero() || ex.Err != nil {
		t.Errorf("exit = %+v", ex)
	}
	if !containerGone(t, e.cli, inst.ID) {
		t.Error("container still there after Stop")
	}
	if got := e.d.List(e.app); len(got) != 0 {
		t.Errorf("list after stop = %v", got)
	}
}

// getEnv fetches an env(1) listing over HTTP.
func getEnv(t *testing.T, ctx context.Context, url string) map[string]string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestDockerLinesInOrderBeforeExit(t *testing.T) {
	e := testDocker(t)
	exitLines := make(chan int, 1)
	d, err := NewDocker(t.Context(), DockerConfig{Client: e.cli, Logs: e.sink, OnExit: func(ex Exit) {
		exitLines <- len(e.sink.get(ex.Instance.App, ex.Instance.Name()))
	}})
	if err != nil {
		t.Fatal(err)
	}
	// A 25,000-byte line arrives as three lines; the final line lacks a
	// newline; stderr lines arrive too.
	cmd := `for i in $(seq 1 2000); do echo "line $i"; done; ` +
		`head -c 25000 /dev/zero | tr '\0' x; echo; echo "to stderr" >&2; printf 'last'`
	if _, err := d.Start(t.Context(), e.spec("worker", 3, cmd)); err != nil {
		t.Fatal(err)
	}
	var n int
	select {
	case n = <-exitLines:
	case <-time.After(60 * time.Second):
		t.Fatal("no exit")
	}
	got := e.sink.get(e.app, "worker.3")
	if n != len(got) || n != 2000+3+1+1 {
		t.Fatalf("%d lines at exit, %d in the end, want %d", n, len(got), 2005)
	}
	var stdout []string
	stderr := 0
	for _, l := range got {
		if l == "to stderr" {
			stderr++
		} else {
			stdout = append(stdout, l)
		}
	}
	if stderr != 1 {
		t.Errorf("%d stderr lines", stderr)
	}
	for i := range 2000 {
		if want := "line " + strconv.Itoa(i+1); stdout[i] != want {
			t.Fatalf("line %d = %q, want %q", i, stdout[i], want)
		}
	}
	x := strings.Repeat("x", MaxLineLength)
	if stdout[2000] != x || stdout[2001] != x || stdout[2002] != x[:5000] || stdout[2003] != "last" {
		t.Errorf("long line pieces have lengths %d %d %d, then %q", len(stdout[2000]), len(stdout[2001]), len(stdout[2002]), stdout[2003])
	}
}

func TestDockerCrashReportsExitCode(t *testing.T) {
	e := testDocker(t)
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1, `echo dying; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	ex := e.exits.wait(t, inst.ID)
	if ex.Code != 3 || ex.Stopped || ex.Err != nil || ex.Instance.ID != inst.ID {
		t.Errorf("exit = %+v", ex)
	}
	if got := e.sink.get(e.app, "worker.1"); len(got) != 1 || got[0] != "dying" {
		t.Errorf("lines = %q", got)
	}
	if !containerGone(t, e.cli, inst.ID) {
		t.Error("exited container not removed")
	}
	// Stopping an instance that is gone is not an error.
	if err := e.d.Stop(t.Context(), inst.ID, time.Second); err != nil {
		t.Errorf("stop after exit: %v", err)
	}
	if err := e.d.Stop(t.Context(), "no-such-container", time.Second); err != nil {
		t.Errorf("stop unknown: %v", err)
	}
}

func TestDockerStopSendsTerm(t *testing.T) {
	e := testDocker(t)
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1,
		`trap 'echo "got TERM"; exit 0' TERM; echo ready; while :; do sleep 0.05; done`))
	if err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "worker.1", "ready")
	start := time.Now()
	if err := e.d.Stop(t.Context(), inst.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %v although the process exits on SIGTERM", d)
	}
	// Stop returns once the output is delivered and the container is gone.
	// Every process of the instance gets SIGTERM, so the shell may also
	// report its sleep as "Terminated", before or after the trap's line.
	if got := e.sink.get(e.app, "worker.1"); !slices.Contains(got, "got TERM") {
		t.Errorf("lines = %q", got)
	}
	if !containerGone(t, e.cli, inst.ID) {
		t.Error("container still there after Stop")
	}
	ex := e.exits.wait(t, inst.ID)
	if !ex.Stopped || ex.Code != 0 {
		t.Errorf("exit = %+v", ex)
	}
}

func TestDockerStopKillsAfterGrace(t *testing.T) {
	e := testDocker(t)
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1,
		`trap '' TERM; echo ready; while :; do sleep 0.05; done`))
	if err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "worker.1", "ready")
	start := time.Now()
	if err := e.d.Stop(t.Context(), inst.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("stop returned after %v, before the grace period", d)
	}
	ex := e.exits.wait(t, inst.ID)
	if !ex.Stopped || ex.Code != 128+9 {
		t.Errorf("exit = %+v", ex)
	}
}

func TestDockerNameClashGetsSuffix(t *testing.T) {
	e := testDocker(t)
	s := e.spec("worker", 1, `echo ready; exec sleep 1000`)
	a, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	ia, _ := e.cli.ContainerInspect(t.Context(), a.ID)
	ib, _ := e.cli.ContainerInspect(t.Context(), b.ID)
	base := "/paas." + e.app + ".worker.1.v1"
	if ia.Name != base || !strings.HasPrefix(ib.Name, base+"-") || len(ib.Name) != len(base)+5 {
		t.Errorf("names %q and %q", ia.Name, ib.Name)
	}
	if got := e.d.List(e.app); len(got) != 2 {
		t.Errorf("list = %+v", got)
	}
}

func TestDockerRemoveApp(t *testing.T) {
	e := testDocker(t)
	web := e.spec("web", 1, `exec python3 -m http.server "$PORT"`)
	web.Web = true
	a, err := e.d.Start(t.Context(), web)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Start(t.Context(), e.spec("worker", 1, `exec sleep 1000`)); err != nil {
		t.Fatal(err)
	}
	// A one-off running meanwhile goes too.
	oneOff := make(chan error, 1)
	out := &syncbuf.Buffer{}
	go func() {
		_, err := e.d.Run(t.Context(), e.spec("run", 77, `echo started; exec sleep 1000`), Stdio{Stdout: out})
		oneOff <- err
	}()
	waitFor(t, "one-off to start", func() bool { return strings.Contains(out.String(), "started") })

	if err := e.d.RemoveApp(t.Context(), e.app); err != nil {
		t.Fatal(err)
	}
	if left := appContainers(t, t.Context(), e.cli, e.app); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if ex := e.exits.wait(t, a.ID); !ex.Stopped {
		t.Errorf("exit = %+v", ex)
	}
	select {
	case <-oneOff:
	case <-time.After(30 * time.Second):
		t.Error("one-off did not end")
	}
	if _, err := e.cli.NetworkInspect(t.Context(), "paas-"+e.app, network.InspectOptions{}); err == nil {
		t.Error("app network left behind")
	}
	if got := e.d.List(e.app); len(got) != 0 {
		t.Errorf("list = %+v", got)
	}
}

func TestDockerAppsIsolated(t *testing.T) {
	e := testDocker(t)
	other := testDocker(t)
	e.startWeb(t)
	name := "paas." + e.app + ".web.1.v1"
	// The app's own one-off reaches it by name.
	code, out := e.runOut(t, e.spec("run", 1, "curl -sS --max-time 10 http://"+name+":5000/index.html"))
	if code != 0 || out != "hi\n" {
		t.Errorf("own app: status %d, output %q", code, out)
	}
	// Another app's containers cannot resolve the name.
	code, out = other.runOut(t, other.spec("run", 1, "getent hosts "+name+" || echo unresolved"))
	if code != 0 || out != "unresolved\n" {
		t.Errorf("other app: status %d, output %q", code, out)
	}
}

func TestDockerShutdownStopsInstances(t *testing.T) {
	e := testDocker(t)
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1, `echo ready; exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "worker.1", "ready")
	if err := e.d.Shutdown(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	if ex := e.exits.wait(t, inst.ID); !ex.Stopped {
		t.Errorf("exit = %+v", ex)
	}
	if !containerGone(t, e.cli, inst.ID) {
		t.Error("container still there after Shutdown")
	}
	if _, err := e.d.Start(t.Context(), e.spec("worker", 2, "true")); !errors.Is(err, ErrShutdown) {
		t.Errorf("start after shutdown: %v", err)
	}
}

func TestDockerStartBadImage(t *testing.T) {
	e := testDocker(t)
	s := e.spec("worker", 1, "true")
	s.Slug = "paas-test/no-such-image:1"
	if _, err := e.d.Start(t.Context(), s); err == nil || !strings.Contains(err.Error(), "no-such-image") {
		t.Errorf("err = %v", err)
	}
	if left := appContainers(t, t.Context(), e.cli, e.app); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestDockerImageOwnCommandAndPort(t *testing.T) {
	e := testDocker(t)
	img := e.appImageWith(t, `mkdir -p /srv && echo own > /srv/index.html`, &container.Config{
		WorkingDir: "/srv",
		Entrypoint: []string{"bash", "-c"},
		Cmd:        []string{`echo "own command $PORT $HOME $(pwd)"; exec python3 -m http.server "$PORT"`},
	})
	s := Spec{App: e.app, Release: 1, Type: "web", Index: 1, Web: true, Slug: img, Port: 8080}
	inst, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "web.1", "own command 8080 /srv /srv")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := WaitServing(ctx, inst.Addr); err != nil {
		t.Fatal(err)
	}
	if got := e.d.List(e.app); len(got) != 1 || got[0].Addr != inst.Addr {
		t.Errorf("list = %+v, want addr %s", got, inst.Addr)
	}
}

// A web instance whose command ends at once, before the engine has
// published its port (or after it has taken it down again), still
// starts: its exit is reported like any crash, with its status, rather
// than Start failing with nothing to say about why.
func TestDockerWebExitingAtOnce(t *testing.T) {
	e := testDocker(t)
	for i := range 16 {
		s := e.spec("web", i+1, `exit 127`)
		s.Web = true
		inst, err := e.d.Start(t.Context(), s)
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		if ex := e.exits.wait(t, inst.ID); ex.Code != 127 || ex.Stopped {
			t.Errorf("exit %d = %+v, want status 127", i+1, ex)
		}
	}
}
