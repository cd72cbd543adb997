package ports

import (
	"net"
	"testing"
)

func TestPickPortBelowEphemeralRange(t *testing.T) {
	low, ok := ephemeralLow()
	if !ok {
		t.Skip("no /proc/sys/net/ipv4/ip_local_port_range")
	}
	seen := map[int]bool{}
	for range 50 {
		p, err := Pick("127.0.0.1", func(p int) bool { return seen[p] })
		if err != nil {
			t.Fatal(err)
		}
		if low-portSpan >= 1024 && (p >= low || p < low-portSpan) {
			t.Fatalf("port %d outside %d-%d", p, low-portSpan, low-1)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	if _, err := Pick("127.0.0.1", func(int) bool { return true }); err == nil {
		t.Error("every port skipped, yet one was picked")
	}
}

func TestBindableSeesListenersOnAnyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if bindable("127.0.0.1", port) {
		t.Errorf("port %d is held on 127.0.0.1, yet bindable", port)
	}
	l2, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if p := l2.Addr().(*net.TCPAddr).Port; bindable("127.0.0.1", p) {
		t.Errorf("port %d is held on every address, yet bindable on 127.0.0.1", p)
	}
}
