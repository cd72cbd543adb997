package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"paas/logs"
	"paas/runtime"
)

// TestEngineAwayWithdrawsRoutes routes no request while the Docker
// engine is away (the addresses its containers had may be others' when
// it is back), keeps listing the instances, and routes them again once
// it answers.
func TestEngineAwayWithdrawsRoutes(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("away", map[string]string{"Procfile": webProc, "site/index.html": "here"}); err != nil {
		t.Fatal(err)
	}
	if code, body := h.get("away"); code != 200 || body != "here" {
		t.Fatalf("before: %d %q", code, body)
	}
	h.svc.OnEngine(runtime.EngineEvent{})
	if code, body := h.get("away"); code == 200 {
		t.Fatalf("routed while the engine is away: %d %q", code, body)
	}
	if p := h.ps("away")["web.1"]; p.State != "up" {
		t.Fatalf("web.1 while the engine is away: %+v", p)
	}
	h.svc.OnEngine(runtime.EngineEvent{Up: true})
	if code, body := h.get("away"); code != 200 || body != "here" {
		t.Fatalf("after: %d %q", code, body)
	}
}

// TestEngineAwayKeepsSwarmRoutes keeps routing instances a swarm placed
// on its nodes while paasd's own engine is away: they do not run on it.
func TestEngineAwayKeepsSwarmRoutes(t *testing.T) {
	h := newHarness(t, 10*time.Second, func(c *Config) { c.Runtime = onNode{c.Runtime} })
	if err := h.deploy("placed", map[string]string{"Procfile": webProc, "site/index.html": "there"}); err != nil {
		t.Fatal(err)
	}
	h.svc.OnEngine(runtime.EngineEvent{})
	if code, body := h.get("placed"); code != 200 || body != "there" {
		t.Fatalf("while the engine is away: %d %q", code, body)
	}
}

// onNode is a runtime whose instances run on a node of their own.
type onNode struct{ Runtime }

func (r onNode) Start(ctx context.Context, s runtime.Spec) (runtime.Instance, error) {
	in, err := r.Runtime.Start(ctx, s)
	in.Node = "node-2"
	return in, err
}

// TestEngineRestartIsNotACrash restarts, without backoff, an instance
// whose container did not survive an engine restart, and says why.
func TestEngineRestartIsNotACrash(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	h.exitHook = func(e *runtime.Exit) {
		if !e.Stopped {
			e.Err = runtime.ErrEngineRestarted
		}
	}
	if err := h.deploy("engexit", map[string]string{"Procfile": "worker: echo up; sleep 0.2; exit 3\n"}); err != nil {
		t.Fatal(err)
	}
	const said = "worker.1 did not survive a restart of the Docker engine; restarting in 0s"
	text := func() string {
		var b strings.Builder
		for _, l := range h.logs.Tail("engexit", -1, logs.Filter{}) {
			b.WriteString(l.String() + "\n")
		}
		return b.String()
	}
	waitUntil(t, "three restarts", func() bool { return strings.Count(text(), said) >= 3 })
	if got := text(); strings.Contains(got, "crashed") || strings.Contains(got, "restarting in 1s") {
		t.Fatalf("an engine restart counted as a crash:\n%s", got)
	}
}
