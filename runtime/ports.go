package runtime

import (
	"fmt"
	"net"
	"strconv"
)

// pickPort asks the kernel for a free TCP port on host: it listens on
// port 0, notes the port and closes the listener. skip reports ports this
// runtime has already handed out; those are asked for again.
func pickPort(host string, skip func(int) bool) (int, error) {
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

// hostPort joins host and port into an address.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
