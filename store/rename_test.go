package store

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"paas"
)

// TestRenameApp renames an app with everything the store keeps of it:
// all of it follows, nothing stays under the old name, and a rename to a
// taken name changes nothing.
func TestRenameApp(t *testing.T) {
	s, _ := open(t)
	s.CreateApp("old-app", "alice")
	s.CreateApp("taken", "alice")
	if _, err := s.CreateAddon(Addon{Name: "db", Engine: "postgres"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttachAddon("db", "old-app", "DATABASE_URL", "postgres://x", "alice"); err != nil {
		t.Fatal(err)
	}
	n, _ := s.ReserveBuild("old-app")
	rel, err := s.Deploy("old-app", paas.Build{Number: n, Commit: "abc", Slug: "/slugs/old-app/b1", By: "alice", Status: paas.StatusSucceeded}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Activate("old-app", rel.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDomain("old-app", "www.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDrain("old-app", Drain{URL: "syslog://a:1", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey("bob", false, paas.Key{Fingerprint: "SHA256:bob", PublicKey: "ssh-ed25519 AAAA"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollaborator("old-app", "bob"); err != nil {
		t.Fatal(err)
	}
	id, err := s.ExecID("old-app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordAudit(paas.AuditEntry{User: "alice", Command: "config:set old-app A=***", App: "old-app"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCertBlob("user/old-app/abc", []byte("old-app's")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCertBlob("user/old-apple/abc", []byte("another app's")); err != nil {
		t.Fatal(err)
	}
	opts := RenameOptions{
		Slug:       func(s string) string { return strings.Replace(s, "/old-app/", "/new-app/", 1) },
		BlobPrefix: "user/",
		Blob: func(b []byte) ([]byte, error) {
			return []byte(strings.Replace(string(b), "old-app", "new-app", 1)), nil
		},
	}

	if err := s.RenameApp("old-app", "taken", opts); !errors.Is(err, paas.ErrAppExists) {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if _, err := s.App("old-app"); err != nil {
		t.Fatalf("a refused rename changed the app: %v", err)
	}
	if err := s.RenameApp("nope", "other", opts); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("rename of a missing app: %v", err)
	}
	if err := s.RenameApp("old-app", "new-app", opts); err != nil {
		t.Fatal(err)
	}

	if _, err := s.App("old-app"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	a, err := s.App("new-app")
	if err != nil || a.Name != "new-app" || a.Release != rel.Version || !slices.Equal(a.Domains, []string{"www.example.com"}) {
		t.Fatalf("renamed app: %+v %v", a, err)
	}
	if cfg, _ := s.Config("new-app"); cfg["DATABASE_URL"] != "postgres://x" {
		t.Errorf("config: %v", cfg)
	}
	r, err := s.Release("new-app", rel.Version)
	if err != nil || r.App != "new-app" || r.Slug != "/slugs/new-app/b1" {
		t.Errorf("release: %+v %v", r, err)
	}
	bs, err := s.ListBuilds("new-app")
	if err != nil || len(bs) != 1 || bs[0].Slug != "/slugs/new-app/b1" || bs[0].App != "new-app" {
		t.Errorf("builds: %+v %v", bs, err)
	}
	if owner, ok, _ := s.DomainOwner("www.example.com"); !ok || owner != "new-app" {
		t.Errorf("domain owner %q", owner)
	}
	if ds, _ := s.Drains("new-app"); len(ds) != 1 || ds[0].URL != "syslog://a:1" {
		t.Errorf("drains: %+v", ds)
	}
	if ds, _ := s.Drains("old-app"); len(ds) != 0 {
		t.Errorf("drains left under the old name: %+v", ds)
	}
	if ad, _ := s.Addon("db"); !maps.Equal(ad.Attachments, map[string]string{"new-app": "DATABASE_URL"}) {
		t.Errorf("attachments: %v", ad.Attachments)
	}
	if owner, collabs, err := s.AppAccess("new-app"); err != nil || owner != "alice" || !slices.Equal(collabs, []string{"bob"}) {
		t.Errorf("access: %s %v %v", owner, collabs, err)
	}
	if got, _ := s.ExecID("new-app"); got != id {
		t.Errorf("exec id %d, want %d", got, id)
	}
	if es, _ := s.AuditEntries(10); len(es) != 1 || es[0].App != "new-app" || es[0].Command != "config:set old-app A=***" {
		t.Errorf("audit: %+v", es)
	}
	if b, ok, _ := s.CertBlob("user/new-app/abc"); !ok || string(b.Data) != "new-app's" {
		t.Errorf("cert blob: %+v %v", b, ok)
	}
	if keys, _ := s.CertKeys("user/"); !slices.Equal(keys, []string{"user/new-app/abc", "user/old-apple/abc"}) {
		t.Errorf("cert keys: %v", keys)
	}
	// Builds go on numbering from where they were.
	if n, _ := s.ReserveBuild("new-app"); n != 2 {
		t.Errorf("next build %d", n)
	}
}
