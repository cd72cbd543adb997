package builder

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"paas/internal/confinetest"
	"paas/internal/hosttest"
	"paas/netguard"
	"paas/stack"
)

// buildProbe is a build step's report on its confinement, written to
// stdout and to probe.txt in the build dir: confinetest.Status, whether
// HOME and ENV_DIR work, and, by connect.py (confinetest.Connect), a TCP
// connection to each HOST:PORT of targets.txt.
const buildProbe = "{\n" + confinetest.Status + `touch "$HOME/written" && echo "home=writable"
echo "greeting=$(cat /env/GREETING)"
python3 connect.py $(cat targets.txt)
} | tee probe.txt
`

// TestDockerBuildConfined builds a Node.js app whose npm preinstall
// script, pushed code run by the build, reports on its confinement: it
// runs as the stack's unprivileged user with no capabilities, no new
// privileges, the build's pids and memory limits, can write its HOME and
// cache and read ENV_DIR, and reaches no port of the host. The image's
// /app belongs to that user, and the image is labelled to run as it. A
// cache volume an older paasd made (its files root's) is replaced.
func TestDockerBuildConfined(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	g, err := netguard.New(t.Context(), nil)
	must(t, err)
	app := randomApp(t)
	const memory = 700 << 20
	b := dockerBuilder(t, cli, app, func(c *Config) { c.Guard = g; c.BuildMemory = memory })

	// The targets: a listener on every address of the host, at the build
	// network's gateway and at another address of the host.
	port := strconv.Itoa(hosttest.Listen(t))
	_, err = b.ensureBuildNetwork(t.Context())
	must(t, err)
	n, err := cli.NetworkInspect(t.Context(), buildNetwork, network.InspectOptions{})
	must(t, err)
	if len(n.IPAM.Config) == 0 {
		t.Fatalf("build network without IPAM config: %+v", n)
	}
	gw := n.IPAM.Config[0].Gateway
	targets := []string{net.JoinHostPort(gw, port)}
	if other := hosttest.OtherAddr(t, gw); other != "" {
		targets = append(targets, net.JoinHostPort(other, port))
	}

	// An older paasd's cache volume, written by root builds.
	_, err = cli.VolumeCreate(t.Context(), volume.CreateOptions{Name: cacheVolume(app), Labels: map[string]string{labelApp: app, labelRole: "cache"}})
	must(t, err)

	res, out := build(t, b, Request{App: app, Config: map[string]string{"GREETING": "hi"}, Source: tarball(t,
		file{name: "package.json", body: `{"name": "probe", "version": "1.0.0", "private": true, "scripts": {"preinstall": "bash probe.sh"}}`},
		file{name: "probe.sh", body: buildProbe},
		file{name: "connect.py", body: confinetest.Connect},
		file{name: "targets.txt", body: strings.Join(targets, "\n") + "\n"},
	)})
	checkBuiltImage(t, cli, b, app, 1, res)

	got, code := runImage(t, cli, res.Slug, "bash", "-c", "cat /app/probe.txt; stat -c 'owner=%u:%g' /app /app/package.json /app/probe.txt; id -u")
	if code != 0 {
		t.Fatalf("reading the probe: exit %d\n%s\nbuild output:\n%s", code, got, out)
	}
	want := confinetest.Unprivileged(buildPidsLimit, memory)
	want["home"], want["greeting"] = "writable", "hi"
	confinetest.Check(t, "the build's probe", confinetest.Parse(got), want)
	for _, tg := range targets {
		if !strings.Contains(got, tg+" closed\n") {
			t.Errorf("the build reaches the host at %s:\n%s", tg, got)
		}
	}
	if strings.Count(got, "owner="+stack.User+"\n") != 3 {
		t.Errorf("the image's /app is not the paas user's:\n%s", got)
	}
	if !strings.HasSuffix(got, "\n1000\n") {
		t.Errorf("the image does not run as the paas user:\n%s", got)
	}
	if l := imageLabelsOf(t, cli, res.Slug); l[labelUser] != stack.User {
		t.Errorf("image label %s = %q", labelUser, l[labelUser])
	}
	v, err := cli.VolumeInspect(t.Context(), cacheVolume(app))
	must(t, err)
	if v.Labels[labelCacheUser] != stack.User {
		t.Errorf("cache volume labels %v", v.Labels)
	}
}
