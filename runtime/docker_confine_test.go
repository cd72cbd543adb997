package runtime

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"paas/internal/confinetest"
)

func TestDockerSpecConfine(t *testing.T) {
	s := Spec{App: "a", Release: 1, Type: "web", Index: 1, Command: "serve", Slug: "img", Web: true}
	lim := limits{memory: 512 << 20, pids: 77}

	cfg, hc, _ := instanceConfig(s, "127.0.0.1", "/app")
	confine(cfg, hc, imageProfile{workDir: "/app", user: "1000:1000"}, lim)
	if cfg.User != "1000:1000" || !slices.Equal(hc.CapDrop, []string{"ALL"}) || len(hc.CapAdd) != 0 ||
		!slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) || hc.PidsLimit == nil || *hc.PidsLimit != 77 ||
		hc.Memory != 512<<20 || hc.Privileged {
		t.Errorf("buildpack image: user %q, host config %+v", cfg.User, hc)
	}

	// A Dockerfile image keeps its user and the capabilities it may need
	// to change to it; the limit the spec names wins over the default.
	s.Memory = 64 << 20
	cfg, hc, _ = instanceConfig(s, "127.0.0.1", "/srv")
	confine(cfg, hc, imageProfile{workDir: "/srv"}, lim)
	if cfg.User != "" || slices.Contains(hc.CapDrop, "ALL") || !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) ||
		hc.Memory != 64<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 77 {
		t.Errorf("Dockerfile image: user %q, host config %+v", cfg.User, hc)
	}
	for _, c := range []string{"NET_RAW", "MKNOD", "SYS_CHROOT", "AUDIT_WRITE", "SETFCAP"} {
		if !slices.Contains(hc.CapDrop, c) {
			t.Errorf("Dockerfile image keeps %s", c)
		}
	}

	// No default: no limit.
	s.Memory = 0
	_, hc, _ = oneOffConfig(s, Stdio{}, "/app")
	confine(&container.Config{}, hc, imageProfile{user: "1000:1000"}, limits{pids: 5})
	if hc.Memory != 0 || *hc.PidsLimit != 5 {
		t.Errorf("one-off without a default: memory %d, pids %d", hc.Memory, *hc.PidsLimit)
	}
}

// confinementProbe prints what a process learns about its confinement
// (confinetest.Status) and whether its home is writable.
const confinementProbe = confinetest.Status + `touch "$HOME/written" && echo "home=writable"`

// checkConfined checks a probe's output against the confinement of a
// buildpack image: the unprivileged user, no capabilities at all, no new
// privileges, the pids and memory limits, and a writable home (the slug).
func checkConfined(t *testing.T, what, out string, pids int, memory int64) {
	t.Helper()
	want := confinetest.Unprivileged(pids, memory)
	want["home"] = "writable"
	confinetest.Check(t, what, confinetest.Parse(out), want)
}

// TestDockerConfinement runs an instance and a one-off of an image made
// as a build makes it (the slug at /app owned by the paas user, the image
// labelled with that user): both run as that user, with no capabilities,
// no new privileges, the pids limit and the default memory limit. An
// image without the label (a Dockerfile app's) keeps its own user but
// gets no new privileges, the limits, and loses the capabilities no web
// app needs.
func TestDockerConfinement(t *testing.T) {
	const defMemory = 300 << 20
	e := testDockerWith(t, func(c *DockerConfig) { c.DefaultMemory = defMemory })
	img := e.appImageWith(t, `chown -R 1000:1000 /app`, &container.Config{
		WorkingDir: ContainerWorkDir, Labels: map[string]string{LabelUser: "1000:1000"},
	})

	s := Spec{App: e.app, Release: 1, Type: "worker", Index: 1, Slug: img,
		Command: confinementProbe + `; echo done; exec sleep 1000`}
	if _, err := e.d.Start(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "worker.1", "done")
	checkConfined(t, "instance", strings.Join(e.sink.get(e.app, "worker.1"), "\n"), DefaultPidsLimit, defMemory)

	code, out := e.runOut(t, Spec{App: e.app, Release: 1, Type: "run", Index: 5, Slug: img, Command: confinementProbe})
	if code != 0 {
		t.Errorf("one-off exited %d: %s", code, out)
	}
	checkConfined(t, "one-off", out, DefaultPidsLimit, defMemory)

	// A limit set for the type wins over the default.
	s.Type, s.Memory = "small", 100<<20
	if _, err := e.d.Start(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	e.sink.waitLine(t, e.app, "small.1", "done")
	if got := confinetest.Parse(strings.Join(e.sink.get(e.app, "small.1"), "\n")); got["memory"] != strconv.Itoa(100<<20) {
		t.Errorf("memory limit set for the type: %q", got["memory"])
	}

	// The stack image itself has no label: it runs as its own user,
	// root, without the capabilities no web app needs.
	code, out = e.runOut(t, Spec{App: e.app, Release: 1, Type: "run", Index: 6, Slug: e.image, Command: confinementProbe})
	got := confinetest.Parse(out)
	if code != 0 || got["uid"] != "0" || got["NoNewPrivs"] != "1" || got["pids"] != strconv.Itoa(DefaultPidsLimit) ||
		got["memory"] != strconv.Itoa(defMemory) {
		t.Errorf("unlabelled image: exit %d, %v", code, got)
	}
	bnd, err := strconv.ParseUint(got["CapBnd"], 16, 64)
	if err != nil {
		t.Fatalf("CapBnd %q: %v", got["CapBnd"], err)
	}
	// Capability numbers (linux/capability.h).
	const (
		capChown     = 0
		capSetuid    = 7
		capNetRaw    = 13
		capMknod     = 27
		capSysChroot = 18
		capAudWrite  = 29
		capSetfcap   = 31
	)
	for name, n := range map[string]int{"NET_RAW": capNetRaw, "MKNOD": capMknod, "SYS_CHROOT": capSysChroot, "AUDIT_WRITE": capAudWrite, "SETFCAP": capSetfcap} {
		if bnd&(1<<n) != 0 {
			t.Errorf("unlabelled image keeps %s (CapBnd %s)", name, got["CapBnd"])
		}
	}
	for name, n := range map[string]int{"CHOWN": capChown, "SETUID": capSetuid} {
		if bnd&(1<<n) == 0 {
			t.Errorf("unlabelled image lost %s (CapBnd %s)", name, got["CapBnd"])
		}
	}
	// Such an image may start as root and change user, as nginx does:
	// no new privileges does not stop setuid(2).
	code, out = e.runOut(t, Spec{App: e.app, Release: 1, Type: "run", Index: 7, Slug: e.image,
		Command: `python3 -c 'import os; os.setgroups([]); os.setgid(65534); os.setuid(65534); print("now", os.getuid())'`})
	if code != 0 || out != "now 65534\n" {
		t.Errorf("changing user in an unlabelled image: exit %d, %q", code, out)
	}
}

// TestSwarmSpecConfine gives a swarm instance the confinement of a
// local container: its user, dropped capabilities, limits and
// no-new-privileges.
func TestSwarmSpecConfine(t *testing.T) {
	s := Spec{App: "a", Release: 1, Type: "web", Index: 1, Command: "serve", Slug: "img", Web: true}
	spec, err := serviceSpec(s, "reg/img@sha256:0", "paas-a", imageProfile{workDir: "/app", user: "1000:1000"}, limits{memory: 512 << 20, pids: 77}, "o")
	if err != nil {
		t.Fatal(err)
	}
	cs, res := spec.TaskTemplate.ContainerSpec, spec.TaskTemplate.Resources.Limits
	if cs.User != "1000:1000" || !slices.Equal(cs.CapabilityDrop, []string{"ALL"}) || cs.Privileges == nil ||
		!cs.Privileges.NoNewPrivileges || res.MemoryBytes != 512<<20 || res.Pids != 77 {
		t.Errorf("container spec %+v, privileges %+v, limits %+v", cs, cs.Privileges, res)
	}
}
