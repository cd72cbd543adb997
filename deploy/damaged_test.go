package deploy

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/internal/syncbuf"
)

// TestMissingSlugIsReportedAndIsolated removes one app's slug while paasd
// is stopped: the next start starts the other app, says in its log, in
// the app's listing and on every command that would start it what is
// wrong and what to do, and a new deploy mends it.
func TestMissingSlugIsReportedAndIsolated(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	for _, app := range []string{"kept", "lost"} {
		if err := h.deploy(app, map[string]string{"Procfile": webProc, "site/index.html": app}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st := h.svc.cfg.Store
	a, err := st.App("lost")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := st.Release("lost", a.Release)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	h.svc.Shutdown(sctx)
	cancel()
	if err := os.RemoveAll(rel.Slug); err != nil {
		t.Fatal(err)
	}

	// paasd starts again on the same store.
	var logged syncbuf.Buffer
	cfg := h.svc.cfg
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	h.restart(New(cfg))
	if err := h.svc.Start(ctx); err != nil {
		t.Fatalf("starting with a missing slug: %v", err)
	}
	waitUntil(t, "kept serving", func() bool { code, body := h.get("kept"); return code == 200 && strings.Contains(body, "kept") })
	note := "app lost is damaged: the slug of release v1 is missing; redeploy with git push, or roll back to a release whose build remains (rollback vN)"
	if !strings.Contains(logged.String(), note) {
		t.Errorf("paasd's log lacks %q:\n%s", note, logged.String())
	}
	apps, err := h.svc.ListApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		want := ""
		if a.Name == "lost" {
			want = note
		}
		if a.Damaged != want {
			t.Errorf("%s listed as damaged %q, want %q", a.Name, a.Damaged, want)
		}
	}
	if a, err := h.svc.App(ctx, "lost"); err != nil || a.Damaged != note {
		t.Errorf("App(lost) = %q, %v", a.Damaged, err)
	}
	oneLine := func(what string, err error) {
		t.Helper()
		msg, ok := paas.UserMessage(err)
		if !ok || msg != note {
			t.Errorf("%s: %v (user message %q), want %q", what, err, msg, note)
		}
	}
	oneLine("restart", h.svc.Restart(ctx, "lost", "", io.Discard))
	oneLine("scale", h.svc.Scale(ctx, "lost", map[string]int{"web": 2}, io.Discard))

	// A new deploy mends it.
	if err := h.deploy("lost", map[string]string{"Procfile": webProc, "site/index.html": "found"}); err != nil {
		t.Fatal(err)
	}
	if code, body := h.get("lost"); code != 200 || !strings.Contains(body, "found") {
		t.Fatalf("after a new deploy: %d %q", code, body)
	}
	if a, err := h.svc.App(ctx, "lost"); err != nil || a.Damaged != "" {
		t.Errorf("after a new deploy: damaged %q, %v", a.Damaged, err)
	}
}
