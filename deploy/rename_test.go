package deploy

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/runtime"
	"paas/store"
)

// TestRenameApp renames a running app: the old host stops routing and
// the new one routes, its release, build, config, log history and
// instances follow; a taken or invalid name and a rename while the app's
// lock is held are refused and change nothing.
func TestRenameApp(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	f := withAddons(h)
	if err := h.deploy("renold", map[string]string{"Procfile": webProc, "site/index.html": "served"}); err != nil {
		t.Fatal(err)
	}
	ctx := paas.WithActor(context.Background(), "tester")
	if _, err := h.svc.SetConfig(ctx, "renold", "tester", map[string]string{"GREETING": "hi"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.CreateAddon(ctx, "renold", "postgres", "rendb", "", "tester", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateApp(ctx, "rentaken", "tester"); err != nil {
		t.Fatal(err)
	}
	if code, _ := h.get("renold"); code != 200 {
		t.Fatalf("before: %d", code)
	}

	for _, bad := range []string{"rentaken", "Not_Valid", "renold"} {
		if err := h.svc.RenameApp(ctx, "renold", bad, "tester", store.RenameOptions{}, io.Discard); err == nil {
			t.Errorf("rename to %q accepted", bad)
		}
	}
	st := h.svc.state("renold")
	st.lock <- struct{}{}
	err := h.svc.RenameApp(ctx, "renold", "rennew", "tester", store.RenameOptions{}, io.Discard)
	<-st.lock
	if err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Errorf("rename under a held lock: %v", err)
	}
	if code, body := h.get("renold"); code != 200 || body != "served" {
		t.Fatalf("a refused rename disturbed the app: %d %q", code, body)
	}

	if err := h.svc.RenameApp(ctx, "renold", "rennew", "tester", store.RenameOptions{}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if code, body := h.get("rennew"); code != 200 || body != "served" {
		t.Errorf("new host: %d %q", code, body)
	}
	if code, _ := h.get("renold"); code != 404 {
		t.Errorf("old host: %d, want 404", code)
	}
	if _, err := h.svc.App(ctx, "renold"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Errorf("old name: %v", err)
	}
	a, err := h.svc.App(ctx, "rennew")
	if err != nil || a.Release != 3 {
		t.Fatalf("renamed app: %+v %v", a, err)
	}
	if p, ok := h.ps("rennew")["web.1"]; !ok || p.State != "up" {
		t.Errorf("ps: %+v", h.ps("rennew"))
	}
	if got := f.attached("rendb"); len(got) != 1 || got[0] != "rennew" {
		t.Errorf("add-on reachable from %v, want [rennew]", got)
	}
	rel, err := h.svc.cfg.Store.Release("rennew", 3)
	if err != nil || rel.Config["GREETING"] != "hi" || rel.Config["DATABASE_URL"] == "" || !strings.Contains(rel.Slug, "/rennew/") {
		t.Errorf("release: %+v %v", rel, err)
	}
	if bs, err := h.svc.Builds(ctx, "rennew"); err != nil || len(bs) != 1 || bs[0].Status != paas.StatusSucceeded {
		t.Errorf("builds: %+v %v", bs, err)
	}
	stream := streamOf(h, "rennew")
	for _, want := range []string{"Build 1 started by tester", "App renamed from renold to rennew by tester", "Release v3 created"} {
		if !strings.Contains(stream, want) {
			t.Errorf("log lacks %q:\n%s", want, stream)
		}
	}
	if old := streamOf(h, "renold"); old != "" {
		t.Errorf("lines left under the old name:\n%s", old)
	}
	// The renamed app deploys and runs one-offs under its new name.
	var out strings.Builder
	if code, err := h.svc.Run(ctx, "rennew", "tester", []string{"sh", "-c", "echo $GREETING from $PAAS_APP"}, runtimeStdio(&out)); err != nil || code != 0 || out.String() != "hi from rennew\n" {
		t.Errorf("run: %d %v %q", code, err, out.String())
	}
	if err := h.deploy("rennew", map[string]string{"Procfile": webProc, "site/index.html": "again"}); err != nil {
		t.Fatal(err)
	}
	if code, body := h.get("rennew"); code != 200 || body != "again" {
		t.Errorf("after a deploy: %d %q", code, body)
	}
}

// runtimeStdio attaches a one-off to no input and out.
func runtimeStdio(out io.Writer) runtime.Stdio {
	return runtime.Stdio{Stdin: strings.NewReader(""), Stdout: out, Stderr: io.Discard}
}
