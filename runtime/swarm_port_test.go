package runtime

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"

	"github.com/docker/docker/api/types/swarm"
)

func TestPublishedPortsListsEachPortOnce(t *testing.T) {
	var task swarm.Task
	task.Status.PortStatus.Ports = []swarm.PortConfig{
		{TargetPort: 5000, PublishedPort: 32773},
		{TargetPort: 5000, PublishedPort: 32772},
		{TargetPort: 5000, PublishedPort: 32773},
		{TargetPort: 6000, PublishedPort: 32800},
		{TargetPort: 5000},
	}
	if got := publishedPorts(task, 5000); !slices.Equal(got, []int{32773, 32772}) {
		t.Errorf("publishedPorts = %v, want [32773 32772]", got)
	}
	if got := publishedPorts(task, 7000); len(got) != 0 {
		t.Errorf("publishedPorts of an unpublished port = %v", got)
	}
}

// listenPort listens on network's loopback address and returns the port.
func listenPort(t *testing.T, network, addr string) int {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback to listen on: %v", network, err)
	}
	t.Cleanup(func() { l.Close() })
	_, p, _ := net.SplitHostPort(l.Addr().String())
	port, _ := strconv.Atoi(p)
	return port
}

// A task whose port the engine bound on different host ports for IPv4
// and IPv6 is reached on the one of its node's address family, whichever
// order the swarm lists them in.
func TestPickPortTakesTheNodesFamily(t *testing.T) {
	ctx := context.Background()
	v4 := listenPort(t, "tcp4", "127.0.0.1:0")
	// A port bound on IPv6 only: an IPv4 connection to it is refused.
	v6 := listenPort(t, "tcp6", "[::1]:0")
	for v6 == v4 {
		v6 = listenPort(t, "tcp6", "[::1]:0")
	}
	for _, order := range [][]int{{v4, v6}, {v6, v4}} {
		if got := pickPort(ctx, "127.0.0.1", order); got != v4 {
			t.Errorf("pickPort(127.0.0.1, %v) = %d, want the IPv4 port %d", order, got, v4)
		}
		if got := pickPort(ctx, "::1", order); got != v6 {
			t.Errorf("pickPort(::1, %v) = %d, want the IPv6 port %d", order, got, v6)
		}
	}
	if got := pickPort(ctx, "127.0.0.1", []int{v6}); got != v6 {
		t.Errorf("a single port is taken as it is: got %d, want %d", got, v6)
	}
	if got := pickPort(ctx, "127.0.0.1", nil); got != 0 {
		t.Errorf("no port: got %d", got)
	}
}
