package store

import (
	"errors"
	"strings"
	"testing"

	"paas"

	bolt "go.etcd.io/bbolt"
)

// garble overwrites the stored record of app with bytes that are not
// its JSON, as a damaged disk block would.
func garble(t *testing.T, s *Store, app string) {
	t.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Put([]byte(app), []byte("{\"Name\":\"x\x00\xff\x13garbage"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedAppRecordIsIsolated garbles one app's record: the listing
// still has every other app and names the damaged one with what to do,
// reading it fails with that one line, and it can be destroyed, freeing
// its domains.
func TestDamagedAppRecordIsIsolated(t *testing.T) {
	s, _ := open(t)
	for _, name := range []string{"alpha", "broken", "gamma"} {
		if _, err := s.CreateApp(name, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddDomain("broken", "broken.example.com"); err != nil {
		t.Fatal(err)
	}
	garble(t, s, "broken")

	apps, err := s.Apps()
	if err != nil {
		t.Fatalf("listing with one damaged record: %v", err)
	}
	if len(apps) != 3 {
		t.Fatalf("apps = %+v, want 3", apps)
	}
	want := "app broken is damaged: its record in paasd's store cannot be read; restore paas.db from a backup, or destroy the app (apps:destroy broken) and push it again"
	for _, a := range apps {
		switch a.Name {
		case "broken":
			if a.Damaged != want {
				t.Errorf("damaged note = %q, want %q", a.Damaged, want)
			}
		default:
			if a.Damaged != "" || a.CreatedBy != "alice" {
				t.Errorf("healthy app listed as %+v", a)
			}
		}
	}

	_, err = s.App("broken")
	msg, ok := paas.UserMessage(err)
	if !ok || msg != want || !errors.Is(err, paas.ErrAppDamaged) {
		t.Fatalf("reading the damaged app: %v (user message %q, %v)", err, msg, ok)
	}
	if _, err := s.SetMaintenance("broken", true); !errors.Is(err, paas.ErrAppDamaged) {
		t.Fatalf("changing the damaged app: %v", err)
	}
	if _, err := s.App("alpha"); err != nil {
		t.Fatalf("reading a healthy app: %v", err)
	}

	if err := s.DeleteApp("broken"); err != nil {
		t.Fatalf("destroying the damaged app: %v", err)
	}
	if _, err := s.App("broken"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("after destroy: %v", err)
	}
	if _, err := s.AddDomain("gamma", "broken.example.com"); err != nil {
		t.Fatalf("the destroyed app's domain is not free: %v", err)
	}
	if apps, err := s.Apps(); err != nil || len(apps) != 2 || strings.Contains(apps[0].Name+apps[1].Name, "broken") {
		t.Fatalf("apps after destroy = %+v, %v", apps, err)
	}
}
