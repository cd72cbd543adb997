package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
)

// probeHold is how long a probe connection must stay open, without the
// peer closing it, to count as served.
const probeHold = 100 * time.Millisecond

// ErrNotListening is ProbeDirect's answer when nothing listens on the
// address yet.
var ErrNotListening = errors.New("not listening")

// directProbeTimeout bounds one connection attempt of ProbeDirect: an
// address that answers neither way within it is taken as unreachable.
const directProbeTimeout = 500 * time.Millisecond

// ProbeDirect connects once to addr, the address of a web process itself
// (Instance.Direct), and closes the connection. It returns nil when the
// connection is accepted (the process listens), ErrNotListening when it
// is refused, and another error when addr cannot be reached, in which
// case Probe of the instance's Addr is what tells.
func ProbeDirect(ctx context.Context, addr string) error {
	var d net.Dialer
	attempt, cancel := context.WithTimeout(ctx, directProbeTimeout)
	defer cancel()
	c, err := d.DialContext(attempt, "tcp", addr)
	if err == nil {
		c.Close()
		return nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ErrNotListening
	}
	return err
}

// Probe connects to addr once and reports whether the connection is held
// open or answered.
func Probe(ctx context.Context, addr string) error {
	var d net.Dialer
	attempt, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(attempt, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(probeHold)); err != nil {
		return err
	}
	_, err = c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return fmt.Errorf("connection closed by peer: %w", err)
}

// directAddr is the address of a container's port on its network netName
// when this process can reach it without the engine's proxy: the
// network's bridge, named bridge, is an interface of this network
// namespace holding the network's gateway address (an engine elsewhere,
// even one whose networks have the same addresses, does not qualify).
// "" otherwise.
func directAddr(info container.InspectResponse, netName, bridge string, port int) string {
	if info.NetworkSettings == nil || port == 0 {
		return ""
	}
	ep := info.NetworkSettings.Networks[netName]
	if ep == nil || ep.IPAddress == "" || ep.Gateway == "" {
		return ""
	}
	gw := net.ParseIP(ep.Gateway)
	iface, err := net.InterfaceByName(bridge)
	if gw == nil || err != nil {
		return ""
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.Equal(gw) {
			return net.JoinHostPort(ep.IPAddress, strconv.Itoa(port))
		}
	}
	return ""
}
