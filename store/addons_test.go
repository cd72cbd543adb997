package store

import (
	"errors"
	"maps"
	"testing"

	"paas"

	bolt "go.etcd.io/bbolt"
)

func TestAddons(t *testing.T) {
	s, path := open(t)
	for _, a := range []string{"blog", "shop"} {
		if _, err := s.CreateApp(a, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	db, err := s.CreateAddon(Addon{Name: "blog-postgres", Engine: "postgres", Version: "15.10", Password: "pw-secret", CreatedBy: "alice"})
	if err != nil || db.CreatedAt.IsZero() {
		t.Fatalf("create: %+v %v", db, err)
	}
	var pe *paas.Error
	if _, err := s.CreateAddon(Addon{Name: "blog-postgres", Engine: "redis"}); !errors.As(err, &pe) || pe.Msg != "an add-on named blog-postgres already exists" {
		t.Fatalf("taken name: %v", err)
	}
	if a, _ := s.Addon("blog-postgres"); a.Engine != "postgres" {
		t.Fatalf("a taken name replaced the add-on: %+v", a)
	}
	if _, err := s.CreateAddon(Addon{Name: "a-redis", Engine: "redis"}); err != nil {
		t.Fatal(err)
	}
	if all, err := s.Addons(); err != nil || len(all) != 2 || all[0].Name != "a-redis" || all[1].Name != "blog-postgres" {
		t.Fatalf("addons: %+v %v", all, err)
	}
	if _, err := s.Addon("nope"); !errors.Is(err, ErrAddonNotFound) {
		t.Fatalf("unknown add-on: %v", err)
	}

	// Without a release, attaching sets the var at once.
	const url = "postgres://app:pw-secret@blog-postgres:5432/app"
	rel, err := s.AttachAddon("blog-postgres", "blog", "DATABASE_URL", url, "alice")
	if err != nil || rel != nil {
		t.Fatalf("attach: %v %v", rel, err)
	}
	if cfg, _ := s.Config("blog"); cfg["DATABASE_URL"] != url {
		t.Fatalf("config after attach: %v", cfg)
	}
	if a, _ := s.Addon("blog-postgres"); !maps.Equal(a.Attachments, map[string]string{"blog": "DATABASE_URL"}) {
		t.Fatalf("attachments: %v", a.Attachments)
	}

	// Refusals change nothing.
	if _, err := s.AttachAddon("blog-postgres", "blog", "OTHER_URL", url, "alice"); !errors.As(err, &pe) || pe.Msg != "blog-postgres is already attached to blog as DATABASE_URL" {
		t.Fatalf("attached twice: %v", err)
	}
	if _, err := s.AttachAddon("a-redis", "blog", "DATABASE_URL", "redis://x", "alice"); !errors.As(err, &pe) || pe.Msg != "blog already has DATABASE_URL set: choose another name with --as" {
		t.Fatalf("var taken: %v", err)
	}
	if _, err := s.AttachAddon("a-redis", "nope", "REDIS_URL", "redis://x", "alice"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("missing app: %v", err)
	}
	if _, err := s.AttachAddon("nope", "blog", "REDIS_URL", "redis://x", "alice"); !errors.Is(err, ErrAddonNotFound) {
		t.Fatalf("missing add-on: %v", err)
	}
	if a, _ := s.Addon("a-redis"); len(a.Attachments) != 0 {
		t.Fatalf("a refused attach was recorded: %v", a.Attachments)
	}
	if cfg, _ := s.Config("blog"); len(cfg) != 1 {
		t.Fatalf("a refused attach changed the config: %v", cfg)
	}

	// With a release, attaching makes a pending release with the var,
	// recorded in the same transaction; the config changes on activation.
	r1, err := s.Deploy("shop", paas.Build{Number: 1, Commit: "abc"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Activate("shop", r1.Version); err != nil {
		t.Fatal(err)
	}
	rel, err = s.AttachAddon("blog-postgres", "shop", "MAIN_URL", url, "bob")
	if err != nil || rel == nil || rel.Config["MAIN_URL"] != url || rel.Status != paas.StatusPending || rel.Description != "Set MAIN_URL config vars" {
		t.Fatalf("attach to a released app: %+v %v", rel, err)
	}
	if cfg, _ := s.Config("shop"); cfg["MAIN_URL"] != "" {
		t.Fatalf("config changed before activation: %v", cfg)
	}

	// Deleting is refused while attached.
	if err := s.DeleteAddon("blog-postgres"); !errors.As(err, &pe) {
		t.Fatalf("delete while attached: %v", err)
	}
	if err := s.DetachAddon("blog-postgres", "blog"); err != nil {
		t.Fatal(err)
	}
	if err := s.DetachAddon("blog-postgres", "blog"); !errors.As(err, &pe) || pe.Msg != "blog-postgres is not attached to blog" {
		t.Fatalf("detach twice: %v", err)
	}

	// Destroying an app detaches it; the add-on remains. The state
	// survives a reopen.
	if err := s.DeleteApp("shop"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	a, err := s2.Addon("blog-postgres")
	if err != nil || len(a.Attachments) != 0 || a.Password != "pw-secret" || a.Version != "15.10" {
		t.Fatalf("after destroying the app and reopening: %+v %v", a, err)
	}
	if err := s2.DeleteAddon("blog-postgres"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Addon("blog-postgres"); !errors.Is(err, ErrAddonNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := s2.CreateAddon(Addon{Name: "blog-postgres", Engine: "redis"}); err != nil {
		t.Fatalf("a freed name: %v", err)
	}
}

// TestAttachSameURL: an app whose var already holds this add-on's URL
// (an attachment whose record was lost) may be attached again.
func TestAttachSameURL(t *testing.T) {
	s, _ := open(t)
	if _, err := s.CreateApp("blog", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAddon(Addon{Name: "db", Engine: "postgres"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeConfig("blog", map[string]string{"DATABASE_URL": "postgres://u@db/app"}, nil, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttachAddon("db", "blog", "DATABASE_URL", "postgres://u@db/app", "alice"); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackKeepsAddonVars: rolling back to a release from before an
// add-on was attached keeps its var, and other vars roll back.
func TestRollbackKeepsAddonVars(t *testing.T) {
	s, _ := open(t)
	if _, err := s.CreateApp("blog", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeConfig("blog", map[string]string{"COLOUR": "red"}, nil, "alice"); err != nil {
		t.Fatal(err)
	}
	r1, err := s.Deploy("blog", paas.Build{Number: 1, Commit: "abc"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Activate("blog", r1.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAddon(Addon{Name: "db", Engine: "postgres"}); err != nil {
		t.Fatal(err)
	}
	rel, err := s.AttachAddon("db", "blog", "DATABASE_URL", "postgres://app:pw@db:5432/app", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Activate("blog", rel.Version); err != nil {
		t.Fatal(err)
	}
	rel, err = s.ChangeConfig("blog", map[string]string{"COLOUR": "blue"}, nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Activate("blog", rel.Version); err != nil {
		t.Fatal(err)
	}
	back, err := s.Rollback("blog", r1.Version, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"COLOUR": "red", "DATABASE_URL": "postgres://app:pw@db:5432/app"}; !maps.Equal(back.Config, want) {
		t.Fatalf("rollback config %v, want %v", back.Config, want)
	}
}

// TestAddonRecordDefaults: a record written before hosts, ports and users
// were stored reads as the engine's defaults; UpdateAddon changes a record
// in one transaction and a failing change leaves it.
func TestAddonRecordDefaults(t *testing.T) {
	s, _ := open(t)
	for name, raw := range map[string]string{
		"old-pg":    `{"name":"old-pg","engine":"postgres","version":"15.10","password":"pw"}`,
		"old-redis": `{"name":"old-redis","engine":"redis","version":"7.0.15","password":"pw"}`,
	} {
		if err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketAddons).Put([]byte(name), []byte(raw))
		}); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := s.Addon("old-pg")
	if err != nil || pg.Host != "old-pg" || pg.Port != 5432 || pg.User != "app" {
		t.Fatalf("old postgres record: %+v %v", pg, err)
	}
	all, _ := s.Addons()
	if len(all) != 2 || all[1].Host != "old-redis" || all[1].Port != 6379 || all[1].User != "default" {
		t.Fatalf("old redis record: %+v", all)
	}

	a, err := s.UpdateAddon("old-pg", func(a *Addon) error {
		a.Rotation = &Credential{User: "app_2", Password: "pw2"}
		return nil
	})
	if err != nil || a.Rotation == nil || a.Rotation.User != "app_2" {
		t.Fatalf("update: %+v %v", a, err)
	}
	if got := a.Passwords(); len(got) != 2 || got[0] != "pw" || got[1] != "pw2" {
		t.Fatalf("passwords: %v", got)
	}
	_, err = s.UpdateAddon("old-pg", func(a *Addon) error {
		a.Password = "changed"
		return paas.Errorf("no")
	})
	if err == nil {
		t.Fatal("a failing update succeeded")
	}
	if a, _ := s.Addon("old-pg"); a.Password != "pw" || a.Rotation == nil {
		t.Fatalf("a failing update changed the record: %+v", a)
	}
	if _, err := s.UpdateAddon("nope", func(*Addon) error { return nil }); !errors.Is(err, ErrAddonNotFound) {
		t.Fatalf("update of a missing add-on: %v", err)
	}
}
