// Package hosttest gives tests the host's side of a reachability check:
// a listener on every address of the host, and an address of the host
// other than the one a container or namespace sees as its gateway. A
// confined process must reach neither.
package hosttest

import (
	"net"
	"testing"
)

// Listen listens on every IPv4 address of the host, accepting and
// closing connections until the test ends, and returns the port.
func Listen(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// OtherAddr returns an IPv4 address of a host interface that is neither
// loopback nor except, or "" when the host has none.
func OtherAddr(t testing.TB, except string) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() || ipn.IP.String() == except {
			continue
		}
		return ipn.IP.String()
	}
	return ""
}
