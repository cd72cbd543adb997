package deploy

import (
	"sync"
	"testing"
	"time"
)

// prewarmProbe records, at each Prewarm, what the router serves then.
type prewarmProbe struct {
	Builder
	mu     sync.Mutex
	served []string
	h      *harness
}

func (p *prewarmProbe) Prewarm(app string) {
	_, body := p.h.get(app)
	p.mu.Lock()
	p.served = append(p.served, body)
	p.mu.Unlock()
}

func (p *prewarmProbe) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.served...)
}

// TestNextBuildPreparedOnceTheReleaseServes: the builder is asked to get
// an app's next build ready when the new release serves, not before (its
// build container would take the engine's time the new instances need),
// and not only once the push has ended.
func TestNextBuildPreparedOnceTheReleaseServes(t *testing.T) {
	probe := &prewarmProbe{}
	h := newHarness(t, 10*time.Second, func(c *Config) {
		probe.Builder = c.Builder
		c.Builder = probe
	})
	probe.h = h
	for _, v := range []string{"v1", "v2"} {
		before := len(probe.calls())
		if err := h.deploy("warmly", map[string]string{"Procfile": webProc, "site/index.html": v}); err != nil {
			t.Fatal(err)
		}
		calls := probe.calls()[before:]
		if len(calls) == 0 {
			t.Fatalf("deploy of %s: the builder was not asked to prepare the next build", v)
		}
		if calls[0] != v {
			t.Errorf("deploy of %s: asked to prepare the next build while the router served %q", v, calls[0])
		}
	}
}
