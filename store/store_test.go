package store

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"paas"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paas.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestAppLifecycle(t *testing.T) {
	s, _ := open(t)
	if _, err := s.CreateApp("hello", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateApp("hello", "alice"); !errors.Is(err, paas.ErrAppExists) {
		t.Fatalf("second create: %v, want ErrAppExists", err)
	}
	if _, err := s.App("nope"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("missing app: %v", err)
	}
	apps, err := s.Apps()
	if err != nil || len(apps) != 1 || apps[0].Name != "hello" || apps[0].CreatedBy != "alice" {
		t.Fatalf("apps = %+v, %v", apps, err)
	}
	if err := s.DeleteApp("hello"); err != nil {
		t.Fatal(err)
	}
	if apps, _ := s.Apps(); len(apps) != 0 {
		t.Fatalf("apps after delete = %+v", apps)
	}
}

func TestReleasesAndConfig(t *testing.T) {
	s, path := open(t)
	s.CreateApp("hello", "alice")
	rel, err := s.ChangeConfig("hello", map[string]string{"A": "1"}, nil, "alice")
	if err != nil || rel != nil {
		t.Fatalf("config before any release made a release: %v %v", rel, err)
	}
	n, _ := s.ReserveBuild("hello")
	if n != 1 {
		t.Fatalf("first build number %d", n)
	}
	r1, err := s.Deploy("hello", paas.Build{Number: n, Commit: "0123456789abcdef", Slug: "/slug/b1", ProcessTypes: map[string]string{"web": "x"}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if r1.Version != 1 || r1.Description != "Deploy 0123456" || r1.Config["A"] != "1" || r1.Status != paas.StatusPending {
		t.Fatalf("r1 = %+v", r1)
	}
	// A pending release is not current until it is activated.
	if app, _ := s.App("hello"); app.Release != 0 {
		t.Fatalf("pending release is current: %d", app.Release)
	}
	if err := s.Activate("hello", 1); err != nil {
		t.Fatal(err)
	}
	r2, err := s.ChangeConfig("hello", map[string]string{"B": "$(id)\nx"}, []string{"A"}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if r2.Version != 2 || r2.Slug != "/slug/b1" || r2.Config["B"] != "$(id)\nx" || r2.Config["A"] != "" || r2.Description != "Set B; Unset A config vars" {
		t.Fatalf("r2 = %+v", r2)
	}
	// The app's config changes only when the release goes live.
	if cfg, _ := s.Config("hello"); cfg["A"] != "1" || cfg["B"] != "" {
		t.Fatalf("config changed before activation: %v", cfg)
	}
	if err := s.FailRelease("hello", 2, "health check failed"); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := s.Config("hello"); cfg["A"] != "1" {
		t.Fatalf("failed release changed config: %v", cfg)
	}
	r3, err := s.ChangeConfig("hello", map[string]string{"C": "3"}, nil, "bob")
	if err != nil || r3.Config["A"] != "1" || r3.Config["B"] != "" {
		t.Fatalf("r3 built on a failed release's config: %+v %v", r3, err)
	}
	s.Activate("hello", 3)
	if cfg, _ := s.Config("hello"); cfg["C"] != "3" || cfg["A"] != "1" {
		t.Fatalf("config after activation: %v", cfg)
	}
	// Rollback to v1 restores its build and config.
	r4, err := s.Rollback("hello", 1, "carol")
	if err != nil || r4.Description != "Rollback to v1" || r4.Config["C"] != "" || r4.Build != 1 {
		t.Fatalf("rollback = %+v %v", r4, err)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// A stop of paasd mid-deploy leaves r4 pending: the next start fails it.
	failed, err := s2.FailPending("interrupted")
	if err != nil || len(failed) != 1 || failed[0].Version != 4 {
		t.Fatalf("FailPending = %+v %v", failed, err)
	}
	rs, err := s2.Releases("hello")
	if err != nil || len(rs) != 4 || rs[0].Status != paas.StatusFailed || rs[0].Failure != "interrupted" || rs[2].Status != paas.StatusFailed || rs[1].Status != paas.StatusSucceeded {
		t.Fatalf("releases after reopen = %+v %v", rs, err)
	}
	if app, _ := s2.App("hello"); app.Release != 3 {
		t.Fatalf("current = %d, want 3", app.Release)
	}
}

func TestStopAndStartType(t *testing.T) {
	s, _ := open(t)
	s.CreateApp("hello", "a")
	s.SetFormation("hello", map[string]int{"worker": 3})
	a, _ := s.StopType("hello", "worker")
	if a.Formation["worker"] != 0 || a.Stopped["worker"] != 3 {
		t.Fatalf("after stop: %+v", a)
	}
	a, _ = s.StopType("hello", "web") // web defaults to 1
	if a.Stopped["web"] != 1 {
		t.Fatalf("web not remembered: %+v", a)
	}
	a, err := s.StartType("hello", "worker")
	if err != nil || a.Formation["worker"] != 3 || a.Stopped["worker"] != 0 {
		t.Fatalf("after start: %+v %v", a, err)
	}
	if _, err := s.StartType("hello", "worker"); err == nil {
		t.Fatal("starting a running type succeeded")
	}
}

func TestReleaseNumbersUnderConcurrency(t *testing.T) {
	s, _ := open(t)
	s.CreateApp("hello", "a")
	n, _ := s.ReserveBuild("hello")
	s.Deploy("hello", paas.Build{Number: n, Commit: "c"}, "a")
	s.Activate("hello", 1)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ChangeConfig("hello", map[string]string{"K": "v"}, nil, "a"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rs, _ := s.Releases("hello")
	if len(rs) != 21 {
		t.Fatalf("%d releases", len(rs))
	}
	for i, r := range rs {
		if r.Version != 21-i {
			t.Fatalf("release %d has version %d", i, r.Version)
		}
	}
}

func TestKeys(t *testing.T) {
	s, _ := open(t)
	if err := s.AddKey("alice", true, paas.Key{Name: "alice", Fingerprint: "SHA256:abc", PublicKey: "ssh-ed25519 AAAA"}, "test"); err != nil {
		t.Fatal(err)
	}
	k, ok, err := s.KeyByFingerprint("SHA256:abc")
	if err != nil || !ok || k.Name != "alice" || k.User != "alice" {
		t.Fatalf("%+v %v %v", k, ok, err)
	}
	if _, ok, _ := s.KeyByFingerprint("SHA256:zzz"); ok {
		t.Fatal("unknown key found")
	}
}

func TestMarkPruned(t *testing.T) {
	s, _ := open(t)
	s.CreateApp("hello", "a")
	for i := 0; i < 2; i++ {
		n, _ := s.ReserveBuild("hello")
		if _, err := s.Deploy("hello", paas.Build{Number: n, Commit: "c", Slug: "img"}, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkPruned("hello", 1); err != nil {
		t.Fatal(err)
	}
	rs, _ := s.Releases("hello")
	if !rs[1].Pruned || rs[0].Pruned {
		t.Fatalf("pruned flags: v2 %v v1 %v", rs[0].Pruned, rs[1].Pruned)
	}
	if r, _ := s.Release("hello", 1); !r.Pruned {
		t.Fatal("Release(v1) not marked pruned")
	}
	if err := s.MarkPruned("hello", 9); err == nil {
		t.Fatal("marking an unknown build succeeded")
	}
}
