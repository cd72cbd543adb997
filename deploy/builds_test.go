package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"paas"
)

// TestBuildsRecordFailures deploys a tree no buildpack builds, then one
// that builds: both are listed, newest first, the failed one with its
// reason; a build a stop of paasd left pending is failed at start.
func TestBuildsRecordFailures(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	if err := h.deploy("buildy", map[string]string{"README": "nothing"}); err == nil {
		t.Fatal("a tree without a buildpack deployed")
	}
	if err := h.deploy("buildy", map[string]string{"Procfile": webProc, "site/index.html": "ok"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bs, err := h.svc.Builds(ctx, "buildy")
	if err != nil || len(bs) != 2 {
		t.Fatalf("builds: %+v %v", bs, err)
	}
	if b := bs[0]; b.Number != 2 || b.Status != paas.StatusSucceeded || b.By != "tester" || b.StartedAt.IsZero() || b.CreatedAt.Before(b.StartedAt) {
		t.Errorf("succeeded build: %+v", b)
	}
	if b := bs[1]; b.Number != 1 || b.Status != paas.StatusFailed || !strings.Contains(b.Failure, "no buildpack") || b.By != "tester" {
		t.Errorf("failed build: %+v", b)
	}

	// A build left pending by a stop of paasd.
	n, _ := h.svc.cfg.Store.ReserveBuild("buildy")
	if err := h.svc.cfg.Store.StartBuild("buildy", paas.Build{Number: n, Commit: "abc", By: "tester"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	bs, _ = h.svc.Builds(ctx, "buildy")
	if len(bs) != 3 || bs[0].Status != paas.StatusFailed || !strings.Contains(bs[0].Failure, "interrupted") {
		t.Errorf("interrupted build: %+v", bs[0])
	}
	if !strings.Contains(streamOf(h, "buildy"), "Build 3 failed: interrupted by a stop of paasd") {
		t.Errorf("no line for the interrupted build:\n%s", streamOf(h, "buildy"))
	}
}
