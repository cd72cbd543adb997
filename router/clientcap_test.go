package router

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// capServer accepts on a capped loopback listener and greets every
// connection it accepts, keeping it open until its client closes it or
// the test ends; closed receives one value per connection it closed.
func capServer(t *testing.T, c ClientCap) (addr string, closed <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	capped := c.Listener(ln)
	var mu sync.Mutex
	var conns []net.Conn
	gone := make(chan struct{}, 100)
	go func() {
		for {
			conn, err := capped.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			conn.Write([]byte("hi"))
			go func() {
				io.Copy(io.Discard, conn)
				conn.Close()
				gone <- struct{}{}
			}()
		}
	}()
	t.Cleanup(func() {
		capped.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), gone
}

// dialFrom connects to addr from the loopback address from and reports
// whether the server greeted it (true) or closed it at once (false).
func dialFrom(t *testing.T, from, addr string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 2)
	if _, err := io.ReadFull(c, b); err != nil {
		return c, false
	}
	return c, string(b) == "hi"
}

func TestClientCapClosesConnectionsOverTheCap(t *testing.T) {
	var mu sync.Mutex
	var refused []netip.Prefix
	addr, closed := capServer(t, ClientCap{Max: 3, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.4/32")},
		Refused: func(p netip.Prefix) { mu.Lock(); refused = append(refused, p); mu.Unlock() }})
	var first net.Conn
	for i := range 3 {
		c, ok := dialFrom(t, "127.0.0.2", addr)
		if !ok {
			t.Fatalf("connection %d of 3 from 127.0.0.2 refused", i+1)
		}
		if i == 0 {
			first = c
		}
	}
	if _, ok := dialFrom(t, "127.0.0.2", addr); ok {
		t.Fatal("a 4th connection from 127.0.0.2 was accepted over a cap of 3")
	}
	// Another source is not held back by the busy one.
	if _, ok := dialFrom(t, "127.0.0.3", addr); !ok {
		t.Fatal("127.0.0.3 refused while 127.0.0.2 is at its cap")
	}
	// A closed connection gives its place back.
	first.Close()
	<-closed
	if _, ok := dialFrom(t, "127.0.0.2", addr); !ok {
		t.Fatal("127.0.0.2 still refused after one of its connections closed")
	}
	// An exempt peer (a trusted proxy) is not capped.
	for i := range 5 {
		if _, ok := dialFrom(t, "127.0.0.4", addr); !ok {
			t.Fatalf("exempt peer's connection %d refused", i+1)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) == 0 || refused[0] != netip.MustParsePrefix("127.0.0.2/32") {
		t.Errorf("refusals reported: %v", refused)
	}
}

func TestSourceOfGroupsIPv6By64(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:80":                  "127.0.0.2/32",
		"[::ffff:10.0.0.1]:80":          "10.0.0.1/32",
		"[2001:db8:1:2:3:4:5:6]:80":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:1": "2001:db8:1:2::/64",
	} {
		a, err := net.ResolveTCPAddr("tcp", in)
		if err != nil {
			t.Fatal(err)
		}
		_, p, ok := sourceOf(a)
		if !ok || p.String() != want {
			t.Errorf("sourceOf(%s) = %v %v, want %s", in, p, ok, want)
		}
	}
}
