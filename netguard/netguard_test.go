package netguard

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"paas/internal/hosttest"
	"paas/internal/netnstest"
)

func TestBridgeName(t *testing.T) {
	a, b := BridgeName("paas-shop"), BridgeName("paas-shop2")
	if len(a) != 15 || !strings.HasPrefix(a, "pb-") || a == b || a != BridgeName("paas-shop") {
		t.Errorf("bridge names %q %q", a, b)
	}
	if !ifaceName.MatchString(a) {
		t.Errorf("%q is not an interface name", a)
	}
	n := network.Inspect{ID: "0123456789abcdef0123", Options: map[string]string{BridgeNameOption: a}}
	if got := Interface(n); got != a {
		t.Errorf("Interface = %q, want %q", got, a)
	}
	n.Options = nil
	if got := Interface(n); got != "br-0123456789ab" {
		t.Errorf("Interface of an unnamed bridge = %q", got)
	}
}

func TestProtectRefusesBadNames(t *testing.T) {
	g := &Guard{protected: map[string]bool{}}
	for _, bad := range []string{"", "-j ACCEPT", "a b", "0123456789abcdef", "x;y"} {
		if err := g.Protect(t.Context(), bad); err == nil {
			t.Errorf("Protect(%q) accepted", bad)
		}
		if err := g.Release(t.Context(), bad); err == nil {
			t.Errorf("Release(%q) accepted", bad)
		}
	}
}

// newPeer makes a namespace joined to the host by a veth pair: the
// host end stands for a container bridge.
func newPeer(t *testing.T) *netnstest.Peer {
	t.Helper()
	if _, err := lookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	return netnstest.New(t, "pt")
}

// serve listens inside the namespace and answers every connection with
// "hi"; it returns the port.
func serve(t *testing.T, p *netnstest.Peer) int {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	cmd := p.Command("python3", "-c", `
import socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen()
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hi")
    c.close()
`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("server in namespace: %v", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("server in namespace printed %q", line)
	}
	return port
}

// TestGuard puts a namespace behind a host interface, the way a
// container sits behind its bridge: once the interface is protected, the
// namespace no longer reaches a host listener on all addresses (neither
// at the interface's address nor at another address of the host), the
// host still reaches a server in the namespace, and after Release the
// namespace reaches the host again.
func TestGuard(t *testing.T) {
	p := newPeer(t)
	port := hosttest.Listen(t)
	// Another address of the host: loopback is the namespace's own, so
	// take one of a host interface.
	other := hosttest.OtherAddr(t, p.HostIP)

	if !p.Connects(t, p.HostIP, port) {
		t.Fatal("the namespace cannot reach the host even unguarded: the test's set-up is broken")
	}
	g, err := New(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Release(context.Background(), p.HostIf) })
	if err := g.Protect(t.Context(), p.HostIf); err != nil {
		t.Fatal(err)
	}
	// A second Guard, as another paasd has, adds nothing twice.
	g2, err := New(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Protect(t.Context(), p.HostIf); err != nil {
		t.Fatal(err)
	}
	if n := countRules(t, p.HostIf); n != 2 {
		t.Errorf("%d IPv4 rules for %s, want 2", n, p.HostIf)
	}

	if p.Connects(t, p.HostIP, port) {
		t.Error("the namespace reaches a host listener at its gateway address")
	}
	if other != "" && p.Connects(t, other, port) {
		t.Errorf("the namespace reaches a host listener at %s", other)
	}
	// The host opening a connection into the namespace still works: its
	// replies pass as established traffic.
	srv := serve(t, p)
	c, err := net.DialTimeout("tcp", net.JoinHostPort(p.PeerIP, strconv.Itoa(srv)), 5*time.Second)
	if err != nil {
		t.Fatalf("host to namespace: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	_, err = c.Read(buf)
	c.Close()
	if err != nil || string(buf) != "hi" {
		t.Errorf("host to namespace: read %q, %v", buf, err)
	}

	if err := g.Release(t.Context(), p.HostIf); err != nil {
		t.Fatal(err)
	}
	if n := countRules(t, p.HostIf); n != 0 {
		t.Errorf("%d rules for %s left after Release", n, p.HostIf)
	}
	if !p.Connects(t, p.HostIP, port) {
		t.Error("the namespace cannot reach the host after Release")
	}
}

// countRules counts the IPv4 rules of Chain naming iface.
func countRules(t *testing.T, iface string) int {
	t.Helper()
	bin, _ := lookPath("iptables")
	out, err := exec.Command(bin, "-w", "-S", Chain).Output()
	if err != nil {
		t.Fatalf("listing %s: %v", Chain, err)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " -i "+iface+" ") {
			n++
		}
	}
	return n
}

// noNetworks is an engine with no networks.
type noNetworks struct{}

func (noNetworks) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return nil, nil
}

// TestSyncPrunes: rules of an interface that no longer exists go at
// Sync; those of an existing one stay.
func TestSyncPrunes(t *testing.T) {
	p := newPeer(t)
	g, err := New(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b [2]byte
	_, _ = rand.Read(b[:])
	gone := "pt-gone" + hex.EncodeToString(b[:])
	for _, iface := range []string{gone, p.HostIf} {
		t.Cleanup(func() { g.Release(context.Background(), iface) })
		if err := g.Protect(t.Context(), iface); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Sync(t.Context(), noNetworks{}, "paas.managed=true"); err != nil {
		t.Fatal(err)
	}
	if n := countRules(t, gone); n != 0 {
		t.Errorf("%d rules of the missing interface %s left", n, gone)
	}
	if n := countRules(t, p.HostIf); n != 2 {
		t.Errorf("%d rules of the existing interface %s, want 2", n, p.HostIf)
	}
}
