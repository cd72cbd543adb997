// Package netnstest makes, for tests, a peer elsewhere on the network: a
// network namespace joined to the host by a veth pair, with an address
// at each end and a default route through the host. To a container the
// peer is reached through the host's routing, as an outside server is;
// from the host, its end of the pair stands for a container bridge.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Peer is a namespace and the veth pair joining it to the host.
type Peer struct {
	// NS is the namespace's name.
	NS string
	// HostIf is the host's end of the pair.
	HostIf string
	// HostIP is HostIf's address, the namespace's default gateway.
	HostIP string
	// PeerIP is the address of the namespace's end.
	PeerIP string
}

// New makes a peer, removed when the test ends, on a random /30 of the
// benchmarking range 198.18.0.0/15, which nothing else uses. The host's
// end is named prefix-ID (prefix a few letters, to tell whose it is). It
// skips the test unless it runs as root with the ip command.
func New(t testing.TB, prefix string) *Peer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:])
	second, third, fourth := 18+b[0]&1, b[1], b[2]&^3
	p := &Peer{
		NS: "paas-" + prefix + "-" + id, HostIf: prefix + "-" + id,
		HostIP: fmt.Sprintf("198.%d.%d.%d", second, third, fourth+1),
		PeerIP: fmt.Sprintf("198.%d.%d.%d", second, third, fourth+2),
	}
	peerIf := "eth-" + id
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", p.NS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.NS).Run() })
	ip("link", "add", p.HostIf, "type", "veth", "peer", "name", peerIf, "netns", p.NS)
	t.Cleanup(func() { exec.Command("ip", "link", "del", p.HostIf).Run() })
	ip("addr", "add", p.HostIP+"/30", "dev", p.HostIf)
	ip("link", "set", p.HostIf, "up")
	ip("-n", p.NS, "addr", "add", p.PeerIP+"/30", "dev", peerIf)
	ip("-n", p.NS, "link", "set", peerIf, "up")
	ip("-n", p.NS, "link", "set", "lo", "up")
	ip("-n", p.NS, "route", "add", "default", "via", p.HostIP)
	return p
}

// Command is a command that runs name with args inside the namespace.
func (p *Peer) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", p.NS, name}, args...)...)
}

// Connects reports whether a TCP connection from inside the namespace to
// host:port opens within three seconds.
func (p *Peer) Connects(t testing.TB, host string, port int) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", p.NS, "timeout", "3",
		"bash", "-c", `exec 3<>"/dev/tcp/$1/$2"`, "connect", host, strconv.Itoa(port))
	return cmd.Run() == nil
}
