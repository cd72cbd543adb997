package router

import (
	"net"
	"net/netip"
	"sync"
)

// ClientCap bounds the connections one client holds open on a listener at
// once, so that one client (or one app's clients behind one address)
// opening thousands of connections cannot take every file descriptor of
// the server from the other apps and from paasd itself.
type ClientCap struct {
	// Max is the most connections one source holds at once: one IPv4
	// address, or one IPv6 /64. Zero or less: no cap.
	Max int
	// Exempt are peers that are not capped, such as trusted proxies,
	// which carry many clients' connections.
	Exempt []netip.Prefix
	// Refused, when set, is called with the source of each connection
	// closed at the cap.
	Refused func(source netip.Prefix)
}

// Listener returns ln with the cap applied: a connection from a source at
// its cap is closed as soon as it is accepted, before a byte is read, and
// Accept goes on to the next one.
func (c ClientCap) Listener(ln net.Listener) net.Listener {
	if c.Max <= 0 {
		return ln
	}
	return &capListener{Listener: ln, cap: c, open: map[netip.Prefix]int{}}
}

// capListener counts the open connections of each source.
type capListener struct {
	net.Listener
	cap ClientCap

	mu   sync.Mutex
	open map[netip.Prefix]int
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, src, ok := sourceOf(c.RemoteAddr())
		if !ok || l.exempt(addr) {
			return c, nil
		}
		l.mu.Lock()
		if l.open[src] >= l.cap.Max {
			l.mu.Unlock()
			c.Close()
			if l.cap.Refused != nil {
				l.cap.Refused(src)
			}
			continue
		}
		l.open[src]++
		l.mu.Unlock()
		return &cappedConn{Conn: c, l: l, src: src}, nil
	}
}

// exempt reports whether addr is one of the exempt peers.
func (l *capListener) exempt(addr netip.Addr) bool {
	for _, p := range l.cap.Exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// release forgets one connection of src.
func (l *capListener) release(src netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[src] <= 1 {
		delete(l.open, src)
		return
	}
	l.open[src]--
}

// cappedConn gives its place back once closed.
type cappedConn struct {
	net.Conn
	l    *capListener
	src  netip.Prefix
	once sync.Once
}

func (c *cappedConn) Close() error {
	c.once.Do(func() { c.l.release(c.src) })
	return c.Conn.Close()
}

// CloseWrite shuts the writing side of the connection when it can.
func (c *cappedConn) CloseWrite() error { return closeWrite(c.Conn) }

// sourceOf returns the address of a connection's peer a and the source it
// is counted under: the address of an IPv4 peer, the /64 of an IPv6 one.
func sourceOf(a net.Addr) (netip.Addr, netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, false
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip, netip.PrefixFrom(ip, 32), true
	}
	p, err := ip.WithZone("").Prefix(64)
	return ip, p, err == nil
}
