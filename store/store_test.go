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
	if r1.Version != 1 || r1.Description != "Deploy 0123456" || r1.Config["A"] != "1" {
		t.Fatalf("r1 = %+v", r1)
	}
	r2, err := s.ChangeConfig("hello", map[string]string{"B": "$(id)\nx"}, []string{"A"}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if r2.Version != 2 || r2.Slug != "/slug/b1" || r2.Config["B"] != "$(id)\nx" || r2.Config["A"] != "" || r2.Description != "Set B; Unset A config vars" {
		t.Fatalf("r2 = %+v", r2)
	}
	// Releases are immutable snapshots: v1 still has A.
	old, _ := s.Release("hello", 1)
	if old.Config["A"] != "1" {
		t.Fatalf("v1 changed: %+v", old)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	rs, err := s2.Releases("hello")
	if err != nil || len(rs) != 2 || rs[0].Version != 2 {
		t.Fatalf("releases after reopen = %+v %v", rs, err)
	}
	app, _ := s2.App("hello")
	if app.Release != 2 {
		t.Fatalf("current = %d", app.Release)
	}
}

func TestReleaseNumbersUnderConcurrency(t *testing.T) {
	s, _ := open(t)
	s.CreateApp("hello", "a")
	n, _ := s.ReserveBuild("hello")
	s.Deploy("hello", paas.Build{Number: n, Commit: "c"}, "a")
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
	if err := s.PutKey(paas.Key{Name: "alice", Fingerprint: "SHA256:abc", Admin: true}); err != nil {
		t.Fatal(err)
	}
	k, ok, err := s.KeyByFingerprint("SHA256:abc")
	if err != nil || !ok || k.Name != "alice" {
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
