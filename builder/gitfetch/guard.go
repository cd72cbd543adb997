package gitfetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
)

// dialTimeout bounds one TCP connection attempt.
const dialTimeout = 30 * time.Second

// deniedPrefixes are the addresses a buildpack is never fetched from: the
// host itself, link-local networks (cloud metadata services live there),
// and addresses that are not one host.
var deniedPrefixes = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // 255.255.255.255 included
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
}

// embeddingPrefixes hold IPv6 forms that carry an IPv4 address in their
// last 32 bits (IPv4-compatible, NAT64): that address is checked too.
var embeddingPrefixes = []netip.Prefix{
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// deniedKind says why a is never dialled, or "" when it may be. With
// allowLoopback the host's own loopback addresses are allowed (tests).
func deniedKind(a netip.Addr, allowLoopback bool) string {
	a = a.Unmap().WithZone("")
	check := []netip.Addr{a}
	if a.Is6() && a != netip.IPv6Loopback() && a != netip.IPv6Unspecified() {
		for _, p := range embeddingPrefixes {
			if p.Contains(a) {
				b := a.As16()
				check = append(check, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
			}
		}
	}
	for _, c := range check {
		for _, d := range deniedPrefixes {
			if !d.prefix.Contains(c) {
				continue
			}
			if d.what == "loopback" && allowLoopback && c == a {
				break
			}
			return d.what
		}
	}
	return ""
}

// RefusedError is a connection the policy did not allow.
type RefusedError struct {
	Addr string // the address dialled, ip:port
	Kind string // loopback, link-local, ...
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("connecting to %s is not allowed: it is a %s address", e.Addr, e.Kind)
}

// ErrTooLarge is a fetch that read more than its limit.
var ErrTooLarge = errors.New("the buildpack is larger than the fetch limit")

// policy is what one fetch may do on the network, and what it used.
type policy struct {
	allowLoopback bool
	maxBytes      int64
	read          atomic.Int64
}

// current is the policy of the fetch running in this process; nil when
// none runs, and then every dial is refused.
var current atomic.Pointer[policy]

// control refuses a connection to a denied address. It runs once the
// name is resolved, right before the socket connects, so a name that
// resolves (or rebinds) to a denied address is refused too.
func (p *policy) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return &RefusedError{Addr: address, Kind: network}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Addr: address, Kind: "unparsable"}
	}
	if kind := deniedKind(ap.Addr(), p.allowLoopback); kind != "" {
		return &RefusedError{Addr: address, Kind: kind}
	}
	return nil
}

// dialContext is how every git transport of a fetch connects: through the
// current policy's address check, with the bytes read counted against its
// limit.
func dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	p := current.Load()
	if p == nil {
		return nil, &RefusedError{Addr: addr, Kind: "unexpected"}
	}
	d := net.Dialer{
		Timeout: dialTimeout,
		ControlContext: func(_ context.Context, network, address string, c syscall.RawConn) error {
			return p.control(network, address, c)
		},
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, p: p}, nil
}

// countingConn fails reads once the fetch has read more than its limit.
type countingConn struct {
	net.Conn
	p *policy
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.p.read.Add(int64(n)) > c.p.maxBytes {
		return n, ErrTooLarge
	}
	return n, err
}

// guardDialer is dialContext as a golang.org/x/net/proxy dialer, which is
// how go-git's ssh transport accepts a dialer.
type guardDialer struct{}

func (guardDialer) Dial(network, addr string) (net.Conn, error) {
	return dialContext(context.Background(), network, addr)
}

func (guardDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialContext(ctx, network, addr)
}
