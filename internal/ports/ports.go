// Package ports picks TCP ports for servers that are told their port
// rather than handed a listener.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// portSpan is how many ports below the kernel's ephemeral range ports
// are picked from.
const portSpan = 12000

// Pick finds a free TCP port for a server to listen on. It takes
// ports from just below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): a port picked there cannot be taken
// meanwhile by an outgoing connection's source port, as a port the
// kernel handed out for "port 0" can before the server binds it. A
// candidate must bind on host and on every address (servers often
// listen on all of them); skip reports ports the caller has already
// handed out. Without room below the ephemeral range, the kernel picks.
func Pick(host string, skip func(int) bool) (int, error) {
	low, ok := ephemeralLow()
	if !ok || low-portSpan < 1024 {
		return kernelPort(host, skip)
	}
	first := low - portSpan
	for range 200 {
		port := first + rand.IntN(portSpan)
		if skip(port) || !bindable(host, port) {
			continue
		}
		return port, nil
	}
	return 0, fmt.Errorf("picking a port on %s: no free port in %d-%d", host, first, low-1)
}

// bindable reports whether port can be listened on at host and at every
// address.
func bindable(host string, port int) bool {
	for _, h := range []string{host, ""} {
		l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	n, err := strconv.Atoi(f[0])
	return n, err == nil
}

// kernelPort asks the kernel for a free TCP port on host: it listens on
// port 0, notes the port and closes the listener.
func kernelPort(host string, skip func(int) bool) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, fmt.Errorf("picking a port on %s: %w", host, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("picking a port on %s: %w", host, err)
		}
		if !skip(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("picking a port on %s: no unused port found", host)
}
