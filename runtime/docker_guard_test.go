package runtime

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"

	"paas/internal/confinetest"
	"paas/internal/hosttest"
	"paas/netguard"
)

// hostGuard returns a netguard.Guard, or skips the test without
// iptables.
func hostGuard(t *testing.T) *netguard.Guard {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	g, err := netguard.New(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// gateway returns the gateway address of network name.
func gateway(t *testing.T, e *dockerEnv, name string) (string, network.Inspect) {
	t.Helper()
	n, err := e.cli.NetworkInspect(t.Context(), name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.IPAM.Config) == 0 || n.IPAM.Config[0].Gateway == "" {
		t.Fatalf("network %s has no gateway: %+v", name, n.IPAM)
	}
	return n.IPAM.Config[0].Gateway, n
}

// guardRules counts the IPv4 rules of netguard's chain naming iface.
func guardRules(t *testing.T, iface string) int {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-S", netguard.Chain).Output()
	if err != nil {
		t.Fatalf("listing %s: %v", netguard.Chain, err)
	}
	return strings.Count(string(out), " -i "+iface+" ")
}

// TestDockerGuardedNetwork: with a guard, an app's containers reach no
// port of the host, neither at their bridge's gateway nor at another
// address of the host, while the host still reaches a web instance
// through its published port. A network an older paasd made (named
// br-ID by the engine) is guarded too, and removing an app removes its
// bridge's rules.
func TestDockerGuardedNetwork(t *testing.T) {
	g := hostGuard(t)
	e := testDockerWith(t, func(c *DockerConfig) { c.Guard = g })
	port := hosttest.Listen(t)

	e.startWeb(t)
	gw, n := gateway(t, e, networkName(e.app))
	iface := netguard.Interface(n)
	if iface != netguard.BridgeName(networkName(e.app)) {
		t.Errorf("bridge %q, want %q", iface, netguard.BridgeName(networkName(e.app)))
	}
	targets := []string{net.JoinHostPort(gw, strconv.Itoa(port))}
	if other := hosttest.OtherAddr(t, gw); other != "" {
		targets = append(targets, net.JoinHostPort(other, strconv.Itoa(port)))
	}
	code, out := e.runOut(t, e.spec("run", 1, confinetest.ConnectCommand(targets...)))
	for _, tg := range targets {
		if !strings.Contains(out, tg+" closed\n") {
			t.Errorf("a container reaches the host at %s: %q (exit %d)", tg, out, code)
		}
	}

	// A network made before bridges were named.
	legacy := testDockerWith(t, func(c *DockerConfig) { c.Guard = g })
	if _, err := e.cli.NetworkCreate(t.Context(), networkName(legacy.app), network.CreateOptions{
		Driver: network.NetworkBridge, Labels: map[string]string{LabelManaged: "true", LabelApp: legacy.app},
	}); err != nil {
		t.Fatal(err)
	}
	lgw, ln := gateway(t, legacy, networkName(legacy.app))
	liface := netguard.Interface(ln)
	if !strings.HasPrefix(liface, "br-") {
		t.Fatalf("unnamed bridge %q", liface)
	}
	code, out = legacy.runOut(t, legacy.spec("run", 1, confinetest.ConnectCommand(net.JoinHostPort(lgw, strconv.Itoa(port)))))
	if !strings.Contains(out, " closed\n") {
		t.Errorf("a container on an older network reaches the host: %q (exit %d)", out, code)
	}

	for _, env := range []*dockerEnv{e, legacy} {
		if err := env.d.RemoveApp(t.Context(), env.app); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []string{iface, liface} {
		if n := guardRules(t, i); n != 0 {
			t.Errorf("%d rules for %s left after the app was removed", n, i)
		}
	}
}
