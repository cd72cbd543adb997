package netnstest

import (
	"net"
	"strings"
	"testing"
)

// TestPeer: the namespace reaches a host listener at its gateway, and
// the host sees the namespace's address.
func TestPeer(t *testing.T) {
	p := New(t, "pn")
	if !strings.HasPrefix(p.HostIP, "198.1") || len(p.HostIf) > 15 {
		t.Errorf("peer %+v", p)
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(p.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			from <- err.Error()
			return
		}
		from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.Close()
	}()
	if !p.Connects(t, p.HostIP, ln.Addr().(*net.TCPAddr).Port) {
		t.Fatal("the namespace does not reach the host")
	}
	if got := <-from; got != p.PeerIP {
		t.Errorf("connection from %s, want %s", got, p.PeerIP)
	}
	out, err := p.Command("ip", "-4", "-o", "addr", "show").CombinedOutput()
	if err != nil || !strings.Contains(string(out), p.PeerIP+"/30") {
		t.Errorf("addresses in the namespace: %v\n%s", err, out)
	}
	if p.Connects(t, p.HostIP, 1) {
		t.Error("a connection to a closed port opened")
	}
}
