package runtime

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// TestProbeDirectTellsListeningFromRefused: an accepted connection is
// nil at once, a refused one ErrNotListening.
func TestProbeDirectTellsListeningFromRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ProbeDirect(t.Context(), addr); err != nil {
		t.Errorf("probe of a listening address = %v", err)
	}
	ln.Close()
	if err := ProbeDirect(t.Context(), addr); !errors.Is(err, ErrNotListening) {
		t.Errorf("probe of a closed port = %v, want ErrNotListening", err)
	}
}

// TestDockerDirectAddress: a web container on an engine whose bridge is
// in this network namespace has a direct address that refuses until the
// process listens and accepts once it does, with no proxy holding
// connections open before.
func TestDockerDirectAddress(t *testing.T) {
	e := testDocker(t)
	img := e.appImage(t, "true")
	s := Spec{
		App: e.app, Release: 1, Type: "web", Index: 1, Web: true, Slug: img,
		Command: `while [ ! -e /tmp/listen ]; do sleep 0.05; done; echo "serving"; exec python3 -m http.server "$PORT"`,
	}
	inst, err := e.d.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Direct == "" {
		info, err := e.cli.ContainerInspect(t.Context(), inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ep := info.NetworkSettings.Networks["paas-"+e.app]; ep == nil || !localIP(ep.Gateway) {
			t.Skip("the engine's bridge is not in this network namespace")
		}
		t.Fatalf("no direct address for %+v", inst)
	}
	if strings.HasPrefix(inst.Direct, "127.") || !strings.HasSuffix(inst.Direct, ":5000") {
		t.Errorf("direct address %q, want the container's own, port 5000", inst.Direct)
	}
	if err := ProbeDirect(t.Context(), inst.Direct); !errors.Is(err, ErrNotListening) {
		t.Fatalf("probe before the process listens = %v, want ErrNotListening", err)
	}
	ex, err := e.cli.ContainerExecCreate(t.Context(), inst.ID, container.ExecOptions{Cmd: []string{"touch", "/tmp/listen"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cli.ContainerExecStart(t.Context(), ex.ID, container.ExecStartOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := WaitServing(ctx, inst.Addr); err != nil {
		t.Fatal(err)
	}
	if err := ProbeDirect(t.Context(), inst.Direct); err != nil {
		t.Fatalf("probe once the process listens = %v", err)
	}
	if err := e.d.Stop(t.Context(), inst.ID, time.Second); err != nil {
		t.Fatal(err)
	}
}

// localIP reports whether ip is an address of this host's interfaces.
func localIP(ip string) bool {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.String() == ip {
			return true
		}
	}
	return false
}

// TestDirectAddrNeedsTheNetworksOwnBridgeHere: a container's address is
// direct only when the network's bridge is an interface here holding the
// network's gateway: a gateway address this host has on another
// interface (an engine elsewhere reusing the same addresses) is not.
func TestDirectAddrNeedsTheNetworksOwnBridgeHere(t *testing.T) {
	info := func(gw string) container.InspectResponse {
		return container.InspectResponse{NetworkSettings: &container.NetworkSettings{
			Networks: map[string]*network.EndpointSettings{"paas-a": {IPAddress: "127.0.0.9", Gateway: gw}},
		}}
	}
	lo := loopbackName(t)
	if got := directAddr(info("127.0.0.1"), "paas-a", lo, 5000); got != "127.0.0.9:5000" {
		t.Errorf("bridge here with the gateway: %q", got)
	}
	if got := directAddr(info("127.0.0.1"), "paas-a", "pb-nothere0000", 5000); got != "" {
		t.Errorf("bridge elsewhere, gateway address here on another interface: %q", got)
	}
	if got := directAddr(info("192.0.2.1"), "paas-a", lo, 5000); got != "" {
		t.Errorf("bridge here without the gateway: %q", got)
	}
	if got := directAddr(info("127.0.0.1"), "paas-b", lo, 5000); got != "" {
		t.Errorf("another network: %q", got)
	}
}

// loopbackName is the name of this namespace's loopback interface.
func loopbackName(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}
