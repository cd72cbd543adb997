package deploy

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"paas/runtime"
)

// holdingListener accepts connections and holds them open, as a
// runtime's proxy in front of an instance does before the instance
// listens.
func holdingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestWaitListeningTrustsTheDirectAddress: an instance whose own address
// refuses is not listening, even though its published address (a proxy)
// holds connections open; once the own address accepts, it is.
func TestWaitListeningTrustsTheDirectAddress(t *testing.T) {
	s := New(Config{})
	st := newAppState("direct")
	spec := runtime.Spec{App: "direct", Type: "web", Index: 1, Web: true}
	in := &instance{spec: spec, state: "starting", inst: runtime.Instance{Addr: holdingListener(t), Direct: closedPort(t)}}

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := s.waitListening(ctx, st, in, nil); err == nil || !strings.Contains(err.Error(), "did not listen") {
		t.Errorf("wait with the own address refusing = %v, want no answer until the deadline", err)
	}

	in.inst.Direct = holdingListener(t)
	in.inst.Addr = closedPort(t)
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.waitListening(ctx, st, in, nil); err != nil {
		t.Errorf("wait with the own address accepting = %v", err)
	}
}

// TestWaitListeningFallsBackToTheProxy: an own address that cannot be
// reached (no route, or no answer) leaves the published address to tell.
func TestWaitListeningFallsBackToTheProxy(t *testing.T) {
	s := New(Config{})
	st := newAppState("fallback")
	spec := runtime.Spec{App: "fallback", Type: "web", Index: 1, Web: true}
	// 100::/64 is the discard-only prefix: no answer either way.
	in := &instance{spec: spec, state: "starting", inst: runtime.Instance{Addr: holdingListener(t), Direct: "[100::1]:5000"}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.waitListening(ctx, st, in, nil); err != nil {
		t.Errorf("wait = %v, want listening through the published address", err)
	}
}
