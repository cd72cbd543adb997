package hosttest

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestListenAccepts(t *testing.T) {
	port := Listen(t)
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("read %d, %v from a connection the listener closes", n, err)
	}
}

func TestOtherAddr(t *testing.T) {
	a := OtherAddr(t, "")
	if a == "" {
		t.Skip("the host has no IPv4 address besides loopback")
	}
	ip := net.ParseIP(a)
	if ip == nil || ip.To4() == nil || ip.IsLoopback() {
		t.Fatalf("OtherAddr = %q", a)
	}
	if b := OtherAddr(t, a); b == a {
		t.Errorf("OtherAddr(%q) returned it", a)
	}
}
