package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"paas/internal/confinetest"
	"paas/internal/hosttest"
	"paas/netguard"
)

// fencedApp is a web app with a probe: probe.sh prints the process's
// uid, capability sets, no_new_privs, cgroup limits, whether an engine
// socket is in sight, and for each HOST:PORT argument whether a TCP
// connection to it opens.
var fencedApp = map[string]string{
	"Procfile": "web: python3 app.py\n",
	"app.py": `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from %s\n" % os.environ["DYNO"]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
`,
	// An engine socket in sight, then the connections.
	"probe.sh": confinetest.Status + `socks=""
for p in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock; do
    if [ -e "$p" ]; then socks="$socks${socks:+,}$p"; fi
done
echo "engine-socket=${socks:-none}"
python3 connect.py "$@"
`,
	"connect.py": confinetest.Connect,
}

// TestDockerAppsFenced pushes two apps to a paasd whose SSH port listens
// on every address, and checks from a one-off of the first what pushed
// code can reach: its own web instance, but not the other app's, nor
// paasd's SSH port or a listener of the host (at its bridge's gateway or
// at another address of the host), nor an engine socket; and that it
// runs as the unprivileged user with no capabilities, no new privileges,
// the pids limit and the default memory limit, as the web instances do.
// The router still reaches both apps. Destroying an app removes its
// bridge's firewall rules.
func TestDockerAppsFenced(t *testing.T) {
	cli := requireDocker(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	s := startServer(t, "PAAS_RUNTIME=docker", "PAAS_SSH_ADDR=0.0.0.0:0", "PAAS_DEFAULT_MEMORY=256m")
	var rb [3]byte
	_, _ = rand.Read(rb[:])
	a, b := "fence-a-"+hex.EncodeToString(rb[:]), "fence-b-"+hex.EncodeToString(rb[:])
	dirA := s.newRepoOf(a, fencedApp)
	dirB := s.newRepoOf(b, fencedApp)
	requireOK(t, "push a", s.push(dirA, "paas", "main"))
	requireOK(t, "push b", s.push(dirB, "paas", "main"))
	s.mustGet(a, "/", "hello from web.1")
	s.mustGet(b, "/", "hello from web.1")

	webA := webContainer(t, cli, a)
	webB := webContainer(t, cli, b)
	for _, info := range []container.InspectResponse{webA, webB} {
		hc := info.HostConfig
		if info.Config.User != "1000:1000" || !slices.Equal(hc.CapDrop, []string{"ALL"}) ||
			!slices.Contains(hc.SecurityOpt, "no-new-privileges") || hc.PidsLimit == nil || *hc.PidsLimit != 512 ||
			hc.Memory != 256<<20 || hc.Privileged || len(hc.CapAdd) != 0 {
			t.Errorf("%s: user %q, cap drop %v, security %v, pids %v, memory %d", info.Name, info.Config.User,
				hc.CapDrop, hc.SecurityOpt, hc.PidsLimit, hc.Memory)
		}
		for _, m := range info.Mounts {
			t.Errorf("%s mounts %s at %s", info.Name, m.Source, m.Destination)
		}
	}
	ipB := webB.NetworkSettings.Networks["paas-"+b].IPAddress
	ownWeb := strings.TrimPrefix(webA.Name, "/")
	na, err := cli.NetworkInspect(t.Context(), "paas-"+a, network.InspectOptions{})
	if err != nil || len(na.IPAM.Config) == 0 {
		t.Fatalf("network of %s: %v %+v", a, err, na.IPAM)
	}
	gw := na.IPAM.Config[0].Gateway
	if ipB == "" || gw == "" {
		t.Fatalf("addresses: %s's web %q, %s's gateway %q", b, ipB, a, gw)
	}

	listener := strconv.Itoa(hosttest.Listen(t))
	own := net.JoinHostPort(ownWeb, "5000")
	closed := []string{
		net.JoinHostPort(ipB, "5000"),
		net.JoinHostPort(gw, listener),
		net.JoinHostPort(gw, s.port()),
	}
	if other := hosttest.OtherAddr(t, gw); other != "" {
		closed = append(closed, net.JoinHostPort(other, listener), net.JoinHostPort(other, s.port()))
	}
	// paasd's SSH port does answer on those addresses from the host.
	for _, tg := range closed[2:] {
		if _, port, _ := net.SplitHostPort(tg); port != s.port() {
			continue
		}
		c, err := net.Dial("tcp", tg)
		if err != nil {
			t.Fatalf("paasd's SSH port does not listen at %s: %v", tg, err)
		}
		c.Close()
	}

	r := s.ssh("run " + a + " -- sh probe.sh " + own + " " + strings.Join(closed, " "))
	requireOK(t, "run probe", r)
	out := r.stdout
	want := confinetest.Unprivileged(512, 256<<20)
	want["engine-socket"] = "none"
	confinetest.Check(t, "the probe of a one-off", confinetest.Parse(out), want)
	if !strings.Contains(out, own+" open\n") {
		t.Errorf("a one-off of %s does not reach its own web instance at %s:\n%s", a, own, out)
	}
	for _, tg := range closed {
		if !strings.Contains(out, tg+" closed\n") {
			t.Errorf("a one-off of %s reaches %s:\n%s", a, tg, out)
		}
	}
	// The router still reaches both apps.
	s.mustGet(a, "/", "hello from web.1")
	s.mustGet(b, "/", "hello from web.1")

	requireOK(t, "destroy", s.ssh("apps:destroy "+a+" --confirm "+a))
	rules, err := exec.Command("iptables", "-w", "-S", netguard.Chain).Output()
	if err != nil {
		t.Fatal(err)
	}
	if iface := netguard.Interface(na); strings.Contains(string(rules), " -i "+iface+" ") {
		t.Errorf("rules for %s's bridge %s left after destroy:\n%s", a, iface, rules)
	}
}

// webContainer inspects app's web.1 container.
func webContainer(t *testing.T, cli *client.Client, app string) container.InspectResponse {
	t.Helper()
	cs, err := cli.ContainerList(t.Context(), container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "paas.app="+app), filters.Arg("label", "paas.type=web"))})
	if err != nil || len(cs) != 1 {
		t.Fatalf("web containers of %s: %d, %v", app, len(cs), err)
	}
	info, err := cli.ContainerInspect(t.Context(), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
