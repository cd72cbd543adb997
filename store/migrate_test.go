package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMigrateOldStore opens a store written before users existed
// (testdata/old.db, made by testdata/mkold with the store code of that
// time): its keys become admin users, its apps get owners, and the rest
// is as it was.
func TestMigrateOldStore(t *testing.T) {
	data, err := os.ReadFile("testdata/old.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "paas.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	users, err := s.Users()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		if !u.Admin {
			t.Errorf("user %s is not an admin", u.Name)
		}
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"admin", "alice-laptop", "ci"}) {
		t.Fatalf("users %v", names)
	}
	for user, fps := range map[string][]string{
		"alice-laptop": {"SHA256:alice1", "SHA256:alice2"},
		"ci":           {"SHA256:ci"},
		"admin":        {"SHA256:anon"},
	} {
		keys, err := s.KeysOf(user)
		if err != nil || !slices.Equal(fingerprints(keys), fps) {
			t.Errorf("KeysOf(%s) = %v, %v; want %v", user, fingerprints(keys), err, fps)
		}
	}
	k, ok, err := s.KeyByFingerprint("SHA256:ci")
	if err != nil || !ok || k.User != "ci" || k.Name != "ci" || !slices.Equal(k.Options, []string{`from="10.0.0.0/8"`}) {
		t.Fatalf("ci's key after migration: %+v %v %v", k, ok, err)
	}
	// Apps are owned by the user their creator's key became, or by the
	// first admin when that key is gone.
	for app, want := range map[string]string{"blog": "alice-laptop", "shop": "ci", "wiki": "admin"} {
		owner, collab, err := s.AppAccess(app)
		if err != nil || owner != want || len(collab) != 0 {
			t.Errorf("AppAccess(%s) = %q %v %v, want owner %s", app, owner, collab, err, want)
		}
	}
	// The rest is as it was.
	cfg, err := s.Config("blog")
	if err != nil || cfg["GREETING"] != "hi" {
		t.Fatalf("blog's config: %v %v", cfg, err)
	}
	if rs, err := s.Releases("blog"); err != nil || len(rs) != 1 || rs[0].CreatedBy != "Alice@laptop" {
		t.Fatalf("blog's releases: %d %v", len(rs), err)
	}

	// What changed after the migration stays at the next Open: it runs
	// once.
	if err := s.TransferApp("wiki", "ci"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey("dave", false, testKey("d1"), "ci"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if owner, _, _ := s.AppAccess("wiki"); owner != "ci" {
		t.Fatalf("wiki's owner after reopening: %s", owner)
	}
	if u, ok, _ := s.User("dave"); !ok || u.Admin {
		t.Fatalf("dave after reopening: %+v %v", u, ok)
	}
}

// TestNewStoreHasNoUsers checks that a new store starts empty: the
// migration makes users of old keys only.
func TestNewStoreHasNoUsers(t *testing.T) {
	s, _ := open(t)
	if users, err := s.Users(); err != nil || len(users) != 0 {
		t.Fatalf("users of a new store: %v %v", users, err)
	}
}
