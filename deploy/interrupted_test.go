package deploy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"paas"
)

// TestInterruptedBuildLeavesNoArtifact stops a deploy after its build
// made the slug, before a release recorded it (as a kill of paasd
// would), and starts a new Service on the same store: the build is
// failed and its slug is gone.
func TestInterruptedBuildLeavesNoArtifact(t *testing.T) {
	reached, resume := make(chan struct{}), make(chan struct{})
	h := newHarness(t, 5*time.Second, func(c *Config) {
		c.Phase = func(app, phase string) {
			if phase == PhaseCommit {
				close(reached)
				<-resume
			}
		}
	})
	deployed := make(chan error, 1)
	go func() {
		deployed <- h.deploy("halfway", map[string]string{"Procfile": webProc, "site/index.html": "one"})
	}()
	<-reached
	defer func() {
		close(resume)
		<-deployed
	}()
	slug := filepath.Join(h.dir, "slugs", "halfway", "b1")
	if _, err := os.Stat(slug); err != nil {
		t.Fatalf("the slug is not there when the build is committed: %v", err)
	}

	cfg := h.svc.cfg
	cfg.Phase = nil
	next := New(cfg)
	if err := next.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer next.Shutdown(context.Background())
	builds, err := next.Builds(context.Background(), "halfway")
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 1 || builds[0].Status != paas.StatusFailed {
		t.Errorf("builds after the restart: %+v, want build 1 failed", builds)
	}
	if _, err := os.Stat(slug); !os.IsNotExist(err) {
		t.Errorf("the interrupted build's slug is left: %v", err)
	}
}
