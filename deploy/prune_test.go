package deploy

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestPruneCountsBuilds keeps the newest KeepBuilds builds however many
// config changes made releases of them: the first build stays
// rollbackable after config changes, and goes once that many newer builds
// exist.
func TestPruneCountsBuilds(t *testing.T) {
	h := newHarness(t, 5*time.Second, func(c *Config) { c.KeepBuilds = 3 })
	ctx := context.Background()
	push := func(body string) {
		t.Helper()
		if err := h.deploy("keeper", map[string]string{"Procfile": webProc, "site/index.html": body}); err != nil {
			t.Fatal(err)
		}
	}
	push("one") // v1, build 1
	push("two") // v2, build 2
	for i := range 3 {
		if _, err := h.svc.SetConfig(ctx, "keeper", "tester", map[string]string{"N": fmt.Sprint(i)}, nil, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	push("three") // v6, build 3
	pruned := func() map[int]bool {
		rels, err := h.svc.Releases(ctx, "keeper")
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]bool{}
		for _, r := range rels {
			if r.Pruned {
				out[r.Version] = true
			}
		}
		return out
	}
	if p := pruned(); len(p) != 0 {
		t.Fatalf("releases pruned with three builds kept and three made: %v", p)
	}
	if _, err := h.svc.Rollback(ctx, "keeper", "tester", 1, false, io.Discard); err != nil {
		t.Fatalf("rollback to the first build: %v", err)
	}
	if code, body := h.get("keeper"); code != 200 || body != "one" {
		t.Fatalf("after the rollback: %d %q", code, body)
	}
	// The rollback (v7) made build 1 the newest used: a fourth build
	// prunes build 2, released by v2 to v5.
	push("four") // v8, build 4
	want := map[int]bool{2: true, 3: true, 4: true, 5: true}
	if p := pruned(); fmt.Sprint(p) != fmt.Sprint(want) {
		t.Fatalf("pruned releases %v, want %v", p, want)
	}
}
