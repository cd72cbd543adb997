package runtime

import (
	"net"
	"strconv"
)

// hostPort joins host and port into an address.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
