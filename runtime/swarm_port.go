package runtime

import (
	"context"
	"errors"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// publishedPorts lists, in the order the swarm reports them, the distinct
// node ports a running task publishes its container port on. An engine
// that binds a port on both IPv4 and IPv6 picks the two host ports
// separately, and they can differ (one was taken in one family only):
// the task then reports both, and nothing in the report says which
// family each belongs to.
func publishedPorts(t swarm.Task, port int) []int {
	var ports []int
	for _, p := range t.Status.PortStatus.Ports {
		if int(p.TargetPort) == port && p.PublishedPort != 0 && !slices.Contains(ports, int(p.PublishedPort)) {
			ports = append(ports, int(p.PublishedPort))
		}
	}
	return ports
}

// portPickTimeout bounds one connection attempt of pickPort.
const portPickTimeout = 500 * time.Millisecond

// pickPort returns the one of ports that host answers on, for a task
// publishing its port on several: the engine's proxy accepts a
// connection on the port bound in host's address family at once (before
// the process listens), and the node refuses one on a port bound in the
// other family only. The first port is the answer when there is only
// one, or when none is accepted.
func pickPort(ctx context.Context, host string, ports []int) int {
	if len(ports) == 0 {
		return 0
	}
	if len(ports) == 1 {
		return ports[0]
	}
	var d net.Dialer
	for _, p := range ports {
		attempt, cancel := context.WithTimeout(ctx, portPickTimeout)
		c, err := d.DialContext(attempt, "tcp", hostPort(host, p))
		cancel()
		if err == nil {
			c.Close()
			return p
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
	}
	return ports[0]
}
