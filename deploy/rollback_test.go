package deploy

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/logs"
)

// TestRollbackRunsReleasePhase rolls back to a release whose build
// declares a release phase: it runs for the new release, as for a deploy
// or a config change. A failed release is refused unless forced.
func TestRollbackRunsReleasePhase(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	ctx := context.Background()
	good := map[string]string{"Procfile": webProc + "release: echo release phase of $DYNO\n", "site/index.html": "ok"}
	if err := h.deploy("backer", good); err != nil {
		t.Fatal(err)
	}
	if err := h.deploy("backer", map[string]string{"Procfile": "web: exit 4\n"}); err == nil {
		t.Fatal("a web process that exits deployed")
	}
	if _, err := h.svc.SetConfig(ctx, "backer", "tester", map[string]string{"A": "1"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	// v1 deployed, v2 failed, v3 the config change.
	_, err := h.svc.Rollback(ctx, "backer", "tester", 2, false, io.Discard)
	if msg, ok := paas.UserMessage(err); !ok || msg != "v2 failed: roll back to it with --force" {
		t.Fatalf("rollback to the failed v2: %v", err)
	}
	rel, err := h.svc.Rollback(ctx, "backer", "tester", 1, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	phase := func(v int) bool {
		for _, l := range h.logs.Tail("backer", -1, logs.Filter{Proc: "release.1", Release: v}) {
			if strings.Contains(l.Text, "release phase of release.1") {
				return true
			}
		}
		return false
	}
	if rel.Version != 4 || !phase(4) {
		t.Errorf("rollback made v%d; its release phase ran: %v", rel.Version, phase(rel.Version))
	}
	// Forced, the failed release is tried again, and fails again.
	_, err = h.svc.Rollback(ctx, "backer", "tester", 2, true, io.Discard)
	if msg, ok := paas.UserMessage(err); !ok || !strings.Contains(msg, "web.1 exited with status 4") {
		t.Fatalf("forced rollback to v2: %v", err)
	}
	if code, body := h.get("backer"); code != 200 || body != "ok" {
		t.Errorf("after the forced rollback failed: %d %q", code, body)
	}
}
