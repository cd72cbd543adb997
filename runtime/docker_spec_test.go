package runtime

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

func TestDockerSpecNames(t *testing.T) {
	s := Spec{App: "shop", Release: 12, Type: "web", Index: 3}
	if got := containerName(s); got != "paas.shop.web.3.v12" {
		t.Errorf("containerName = %q", got)
	}
	s.Type = "run"
	s.Index = 4711
	if got := oneOffName(s); got != "paas.shop.run.4711" {
		t.Errorf("oneOffName = %q", got)
	}
	if got := cleanName("a b/c:d_e-f"); got != "a-b-c-d_e-f" {
		t.Errorf("cleanName = %q", got)
	}
}

func TestDockerSpecEnv(t *testing.T) {
	s := Spec{App: "a", Type: "web", Index: 2, Env: map[string]string{"A": "1", "HOME": "/elsewhere", "PORT": "1"}}
	env, err := containerEnv(s, true, "/app")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "DYNO=web.2", "HOME=/app", "PORT=5000"}
	if !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	s.Env = map[string]string{"DYNO": "run.9"}
	env, err = containerEnv(s, false, "/app", "TERM", "vt100")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"DYNO=run.9", "HOME=/app", "TERM=vt100"}
	if !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	for _, bad := range []map[string]string{{"": "x"}, {"A=B": "x"}, {"A": "x\x00y"}} {
		if _, err := containerEnv(Spec{Env: bad}, false, "/app"); err == nil {
			t.Errorf("env %q accepted", bad)
		}
	}
}

func TestDockerSpecInstanceConfig(t *testing.T) {
	s := Spec{App: "a", Release: 7, Type: "web", Index: 1, Command: "serve --now", Slug: "paas/a:b3",
		Web: true, Memory: 256 << 20, CPUs: 0.5, StopTimeout: 1500 * time.Millisecond}
	cfg, hc, err := instanceConfig(s, "127.0.0.1", "/app")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Image != "paas/a:b3" || cfg.WorkingDir != "/app" || !slices.Equal(cfg.Cmd, []string{"serve --now"}) ||
		cfg.StopTimeout == nil || *cfg.StopTimeout != 2 || cfg.Tty || cfg.OpenStdin {
		t.Errorf("config = %+v", cfg)
	}
	wantLabels := map[string]string{"paas.managed": "true", "paas.app": "a", "paas.release": "7",
		"paas.type": "web", "paas.index": "1", "paas.command": "serve --now"}
	for k, v := range wantLabels {
		if cfg.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], v)
		}
	}
	if _, ok := cfg.ExposedPorts["5000/tcp"]; !ok {
		t.Errorf("exposed ports = %v", cfg.ExposedPorts)
	}
	if b := hc.PortBindings["5000/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "" {
		t.Errorf("port bindings = %v", hc.PortBindings)
	}
	if hc.Init == nil || !*hc.Init || hc.Memory != 256<<20 || hc.NanoCPUs != 5e8 ||
		hc.RestartPolicy.Name != container.RestartPolicyDisabled || hc.AutoRemove || hc.NetworkMode != "paas-a" {
		t.Errorf("host config = %+v", hc)
	}

	if len(cfg.Entrypoint) == 0 {
		t.Error("no entrypoint for a Procfile command")
	}

	// An image's own command, listening on its own port, in its own
	// working directory.
	s.Command, s.Port = "", 8080
	cfg, hc, _ = instanceConfig(s, "127.0.0.1", "/srv")
	if len(cfg.Entrypoint) != 0 || len(cfg.Cmd) != 0 || cfg.WorkingDir != "/srv" ||
		!slices.Contains(cfg.Env, "PORT=8080") || !slices.Contains(cfg.Env, "HOME=/srv") {
		t.Errorf("config = %+v", cfg)
	}
	if _, ok := hc.PortBindings["8080/tcp"]; !ok {
		t.Errorf("port bindings = %v", hc.PortBindings)
	}
	if err := checkImageSpec(s); err != nil {
		t.Errorf("empty command refused: %v", err)
	}

	s.Web, s.StopTimeout = false, 0
	cfg, hc, _ = instanceConfig(s, "127.0.0.1", "/app")
	if len(cfg.ExposedPorts) != 0 || len(hc.PortBindings) != 0 || cfg.StopTimeout != nil {
		t.Errorf("worker publishes %v %v, stop timeout %v", cfg.ExposedPorts, hc.PortBindings, cfg.StopTimeout)
	}
}

func TestDockerSpecOneOffConfig(t *testing.T) {
	s := Spec{App: "a", Type: "run", Index: 9, Command: "bash", Slug: "img", Web: true}
	cfg, hc, err := oneOffConfig(s, Stdio{TTY: true, Stdin: strings.NewReader("")}, "/app")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Tty || !cfg.OpenStdin || !cfg.StdinOnce || len(cfg.ExposedPorts) != 0 || len(hc.PortBindings) != 0 ||
		cfg.Labels[LabelOneOff] != "true" {
		t.Errorf("config = %+v, host config = %+v", cfg, hc)
	}
	for _, want := range []string{"TERM=xterm", "PAAS_TTY_SIZE=rows 24 cols 80", "DYNO=run.9"} {
		if !slices.Contains(cfg.Env, want) {
			t.Errorf("env %q lacks %q", cfg.Env, want)
		}
	}
	if slices.ContainsFunc(cfg.Env, func(kv string) bool { return strings.HasPrefix(kv, "PORT=") }) {
		t.Errorf("one-off has PORT: %q", cfg.Env)
	}
	cfg, _, _ = oneOffConfig(s, Stdio{}, "/app")
	if cfg.Tty || cfg.OpenStdin || slices.ContainsFunc(cfg.Env, func(kv string) bool { return strings.HasPrefix(kv, "TERM=") }) {
		t.Errorf("config without stdin or tty = %+v", cfg)
	}
}

func TestDockerSpecStopSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, -time.Second: 0, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 30 * time.Second: 30} {
		if got := stopSeconds(d); got != want {
			t.Errorf("stopSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestDockerSpecInstanceFromSummary(t *testing.T) {
	c := container.Summary{
		ID: "abc", Created: 1700000000,
		Labels: map[string]string{"paas.app": "a", "paas.release": "3", "paas.type": "web", "paas.index": "2", "paas.command": "x"},
		Ports: []container.Port{
			{PrivatePort: 5000, Type: "udp", PublicPort: 1},
			{IP: "127.0.0.1", PrivatePort: 5000, PublicPort: 32768, Type: "tcp"},
		},
	}
	inst, ok := instanceFromSummary(c, "10.0.0.1")
	want := Instance{ID: "abc", App: "a", Release: 3, Type: "web", Index: 2, Command: "x",
		Addr: "127.0.0.1:32768", Started: time.Unix(1700000000, 0)}
	if !ok || inst != want {
		t.Errorf("instance = %+v, %v", inst, ok)
	}
	c.Ports = []container.Port{{IP: "0.0.0.0", PrivatePort: 5000, PublicPort: 40000, Type: "tcp"}}
	if inst, _ := instanceFromSummary(c, "10.0.0.1"); inst.Addr != "10.0.0.1:40000" {
		t.Errorf("addr = %q", inst.Addr)
	}
	c.Labels["paas.index"] = "x"
	if _, ok := instanceFromSummary(c, ""); ok {
		t.Error("container with a bad index label taken for an instance")
	}
}

// TestDockerSpecLauncher runs a container's entrypoint with the local
// shells: the profile scripts run first, the command arrives unspliced,
// and sh serves when there is no bash.
func TestDockerSpecLauncher(t *testing.T) {
	home := slug(t, map[string]string{".profile.d/a.sh": "export FROM_PROFILE=yes\n"})
	command := `echo "$0 $FROM_PROFILE ${PAAS_TTY_SIZE-unset}" '$(not run)'`
	for _, c := range []struct {
		path     string
		instance bool
	}{{"", false}, {"/nonexistent", false}, {"", true}, {"/nonexistent", true}} {
		path, ep := c.path, containerEntrypoint(c.instance)
		cmd := exec.Command(ep[0], append(ep[1:], command)...)
		cmd.Env = []string{"HOME=" + home, "PAAS_TTY_SIZE=rows 1 cols 2"}
		if path != "" {
			// Without bash on PATH, sh runs the dyno script.
			cmd.Env = append(cmd.Env, "PATH="+path)
		} else {
			cmd.Env = append(cmd.Env, "PATH=/usr/bin:/bin")
		}
		out, _ := cmd.CombinedOutput()
		first, _, _ := strings.Cut(string(out), "\n")
		if first != "paas-dyno yes unset $(not run)" {
			t.Errorf("PATH=%q: output %q", path, out)
		}
	}
}

func TestDockerSpecKeepsNoEngineLog(t *testing.T) {
	s := Spec{App: "a", Release: 1, Type: "web", Index: 1, Command: "serve", Slug: "img", Web: true}
	_, inst, err := instanceConfig(s, "127.0.0.1", "/app")
	if err != nil {
		t.Fatal(err)
	}
	s.Type, s.Web = "run", false
	_, oneOff, err := oneOffConfig(s, Stdio{}, "/app")
	if err != nil {
		t.Fatal(err)
	}
	for name, hc := range map[string]*container.HostConfig{"instance": inst, "one-off": oneOff} {
		if lc := hc.LogConfig; lc.Type != "none" || len(lc.Config) != 0 {
			t.Errorf("%s log config = %+v, want none", name, lc)
		}
	}
}

// TestDockerOutputOnlyAttached writes a burst of output from a container
// the engine keeps no log of: the runtime gets every line, in order, from
// the attached stream.
func TestDockerOutputOnlyAttached(t *testing.T) {
	e := testDocker(t)
	const total = 300000 // 100-byte lines
	cmd := `python3 -c 'import sys; w = sys.stdout.buffer; w.writelines(b"%09d %s\n" % (i, b"x" * 90) for i in range(` +
		strconv.Itoa(total) + `))'; echo done; exec sleep 1000`
	inst, err := e.d.Start(t.Context(), e.spec("worker", 1, cmd))
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.cli.ContainerInspect(t.Context(), inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lc := info.HostConfig.LogConfig; lc.Type != "none" {
		t.Errorf("engine's log config = %+v", lc)
	}
	waitNumbered(t, e.sink, e.app, "worker.1", total)
}
