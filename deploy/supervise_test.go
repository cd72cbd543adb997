package deploy

import (
	"context"
	"sync"
	"testing"
	"time"

	"paas"
	"paas/runtime"
)

// startWatcher is the real runtime with a look at the process list each
// time an instance is about to start.
type startWatcher struct {
	Runtime
	before func(runtime.Spec)
}

func (w startWatcher) Start(ctx context.Context, s runtime.Spec) (runtime.Instance, error) {
	w.before(s)
	return w.Runtime.Start(ctx, s)
}

// TestRestartKeepsExitStatusAndListing crashes a worker by a signal again
// and again: while its replacement starts, the crashed instance is listed
// as restarting, and the replacement shows the crash's status and signal.
func TestRestartKeepsExitStatusAndListing(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []paas.Process // worker.1 as listed as each restart begins
		h    *harness
	)
	h = newHarness(t, 10*time.Second, func(c *Config) {
		c.RestartMaxDelay = 100 * time.Millisecond
		c.Runtime = startWatcher{Runtime: c.Runtime, before: func(s runtime.Spec) {
			ps, err := h.svc.Processes(context.Background(), s.App)
			if err != nil || len(ps) == 0 {
				mu.Lock()
				seen = append(seen, paas.Process{Name: "(none)"})
				mu.Unlock()
				return
			}
			for _, p := range ps {
				if p.Name == "worker.1" {
					mu.Lock()
					seen = append(seen, p)
					mu.Unlock()
				}
			}
		}}
	})
	// The first deploy of an app with no web type starts its worker.
	if err := h.deploy("segv", map[string]string{"Procfile": "worker: echo up; sleep 0.3; kill -SEGV $$\n"}); err != nil {
		t.Fatal(err)
	}
	var up paas.Process
	waitUntil(t, "worker.1 up after two restarts", func() bool {
		up = h.ps("segv")["worker.1"]
		return up.State == "up" && up.Restarts >= 2
	})
	if up.LastExit != 139 || up.LastSignal != "SIGSEGV" {
		t.Errorf("restarted worker.1 shows last exit %d %q, want 139 SIGSEGV", up.LastExit, up.LastSignal)
	}
	mu.Lock()
	defer mu.Unlock()
	// The first start (the deploy's) lists nothing yet; each restart
	// lists the crashed instance.
	if len(seen) < 3 || seen[0].Name != "(none)" {
		t.Fatalf("saw %d starts, want the deploy's and two restarts: %+v", len(seen), seen)
	}
	for i, p := range seen[1:] {
		if p.Name != "worker.1" || p.State != "restarting" || p.Restarts != i || p.LastExit != 139 || p.LastSignal != "SIGSEGV" {
			t.Errorf("as restart %d began, worker.1 was listed as %+v; want restarting after %d restarts, last exit 139 SIGSEGV", i+1, p, i)
		}
	}
}
