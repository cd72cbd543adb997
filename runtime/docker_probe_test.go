package runtime

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
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
