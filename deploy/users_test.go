package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"paas"
	"paas/access"
	"paas/store"
)

func userKey(fp string) paas.Key {
	return paas.Key{Fingerprint: "SHA256:" + fp, PublicKey: "ssh-ed25519 AAAA" + fp}
}

// TestUsersAndRelations checks who a key is, how users stand to apps as
// they are created, shared, transferred and destroyed, and that each
// change of access is an event in the app's log naming who made it.
func TestUsersAndRelations(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	ctx := context.Background()
	svc := h.svc
	for _, u := range []struct {
		name  string
		admin bool
	}{{"root", true}, {"alice", false}, {"bob", false}, {"carol", false}} {
		if err := svc.AddKey(ctx, u.name, u.admin, userKey(u.name), "root"); err != nil {
			t.Fatal(err)
		}
	}
	u, k, ok := svc.User("SHA256:alice")
	if !ok || u.Name != "alice" || u.Admin || k.User != "alice" || k.Name != "alice" {
		t.Fatalf("User(alice's key) = %+v %+v %v", u, k, ok)
	}
	if u, _, ok := svc.User("SHA256:root"); !ok || !u.Admin {
		t.Fatalf("User(root's key) = %+v %v", u, ok)
	}
	if _, _, ok := svc.User("SHA256:nobody"); ok {
		t.Fatal("an unknown key has a user")
	}

	rel := func(app, user string) (access.Relation, bool) {
		t.Helper()
		r, exists, err := svc.Relation(app, user)
		if err != nil {
			t.Fatal(err)
		}
		return r, exists
	}
	expect := func(app string, want map[string]access.Relation) {
		t.Helper()
		for user, w := range want {
			if r, exists := rel(app, user); r != w || !exists {
				t.Errorf("Relation(%s, %s) = %v %v, want %v", app, user, r, exists, w)
			}
		}
	}

	// apps:create and a first push make their user the owner.
	if _, err := svc.CreateApp(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnsureApp(ctx, "blog", "bob"); err != nil {
		t.Fatal(err)
	}
	expect("shop", map[string]access.Relation{"alice": access.Owner, "bob": access.None, "root": access.None, "": access.None})
	expect("blog", map[string]access.Relation{"bob": access.Owner, "alice": access.None})
	for _, app := range []string{"nope", "Bad!", ""} {
		if r, exists := rel(app, "alice"); r != access.None || exists {
			t.Errorf("Relation(%q, alice) = %v %v, want none, not existing", app, r, exists)
		}
	}

	if err := svc.AddCollaborator(ctx, "shop", "bob", "alice"); err != nil {
		t.Fatal(err)
	}
	expect("shop", map[string]access.Relation{"alice": access.Owner, "bob": access.Collaborator, "carol": access.None})
	if err := svc.AddCollaborator(ctx, "nope", "bob", "alice"); err == nil || err.Error() != "app nope not found" {
		t.Fatalf("AddCollaborator on no app: %v", err)
	}
	if err := svc.AddCollaborator(ctx, "shop", "dave", "alice"); err == nil || err.Error() != "unknown user dave" {
		t.Fatalf("AddCollaborator of nobody: %v", err)
	}
	if err := svc.TransferApp(ctx, "shop", "carol", "alice"); err != nil {
		t.Fatal(err)
	}
	expect("shop", map[string]access.Relation{"carol": access.Owner, "alice": access.Collaborator, "bob": access.Collaborator})
	if err := svc.RemoveCollaborator(ctx, "shop", "bob", "carol"); err != nil {
		t.Fatal(err)
	}
	expect("shop", map[string]access.Relation{"carol": access.Owner, "alice": access.Collaborator, "bob": access.None})
	owner, collab, err := svc.AppAccess(ctx, "shop")
	if err != nil || owner != "carol" || strings.Join(collab, ",") != "alice" {
		t.Fatalf("AppAccess(shop) = %q %v %v", owner, collab, err)
	}
	if _, _, err := svc.AppAccess(ctx, "nope"); err == nil || err.Error() != "app nope not found" {
		t.Fatalf("AppAccess(nope): %v", err)
	}
	stream := streamOf(h, "shop")
	for _, line := range []string{
		"App created by alice",
		"bob given access by alice",
		"App transferred to carol by alice",
		"Access of bob removed by carol",
	} {
		if !strings.Contains(stream, line) {
			t.Errorf("shop's log has no %q:\n%s", line, stream)
		}
	}

	// A destroyed app takes its access with it: a new app of its name
	// is its new creator's alone.
	if err := svc.DestroyApp(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if r, exists := rel("shop", "carol"); r != access.None || exists {
		t.Fatalf("Relation to a destroyed app: %v %v", r, exists)
	}
	if _, err := svc.CreateApp(ctx, "shop", "bob"); err != nil {
		t.Fatal(err)
	}
	expect("shop", map[string]access.Relation{"bob": access.Owner, "carol": access.None, "alice": access.None})

	// Removing a key: its user is gone with it.
	if _, err := svc.RemoveKey(ctx, "carol", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := svc.User("SHA256:carol"); ok {
		t.Fatal("a removed key still has a user")
	}
	keys, err := svc.KeysOf(ctx, "")
	if err != nil || len(keys) != 3 {
		t.Fatalf("KeysOf(all) = %d keys, %v", len(keys), err)
	}
	users, err := svc.Users(ctx)
	if err != nil || len(users) != 3 {
		t.Fatalf("Users = %v, %v", users, err)
	}
}

// TestAddonRelation checks that a user stands to an add-on as to the best
// of the apps it is attached to, and that an add-on attached to none is
// its creator's.
func TestAddonRelation(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	ctx := context.Background()
	svc := h.svc
	st := svc.cfg.Store
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := svc.AddKey(ctx, u, false, userKey(u), "root"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.CreateApp(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateApp(ctx, "blog", "carol"); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddCollaborator(ctx, "shop", "bob", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAddon(store.Addon{Name: "db", Engine: "postgres", Password: "pw", CreatedBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	check := func(want map[string]access.Relation) {
		t.Helper()
		for user, w := range want {
			r, exists, err := svc.AddonRelation("db", user)
			if err != nil || !exists || r != w {
				t.Errorf("AddonRelation(db, %s) = %v %v %v, want %v", user, r, exists, err, w)
			}
		}
	}
	// Attached to nothing: its creator's.
	check(map[string]access.Relation{"alice": access.Owner, "bob": access.None, "carol": access.None})
	if _, err := st.AttachAddon("db", "shop", "DATABASE_URL", "postgres://x", "alice"); err != nil {
		t.Fatal(err)
	}
	check(map[string]access.Relation{"alice": access.Owner, "bob": access.Collaborator, "carol": access.None})
	if _, err := st.AttachAddon("db", "blog", "DATABASE_URL", "postgres://x", "carol"); err != nil {
		t.Fatal(err)
	}
	check(map[string]access.Relation{"alice": access.Owner, "bob": access.Collaborator, "carol": access.Owner})
	// Attached, it is no longer its creator's as such.
	if err := svc.TransferApp(ctx, "shop", "bob", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveCollaborator(ctx, "shop", "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	check(map[string]access.Relation{"alice": access.None, "bob": access.Owner, "carol": access.Owner})

	if r, exists, err := svc.AddonRelation("nope", "alice"); err != nil || exists || r != access.None {
		t.Fatalf("AddonRelation(nope) = %v %v %v", r, exists, err)
	}
}

// TestUsersBadInput checks that a bad user name or fingerprint is one
// line naming it, and changes nothing.
func TestUsersBadInput(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	ctx := context.Background()
	svc := h.svc
	if err := svc.AddKey(ctx, "root", true, userKey("root"), "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateApp(ctx, "shop", "root"); err != nil {
		t.Fatal(err)
	}
	bad := "bob\nroot"
	wantName := `invalid user name "bob\nroot": use a lower-case letter followed by up to 29 lower-case letters, digits or dashes`
	for what, err := range map[string]error{
		"AddKey":             svc.AddKey(ctx, bad, false, userKey("bob"), "root"),
		"AddCollaborator":    svc.AddCollaborator(ctx, "shop", bad, "root"),
		"RemoveCollaborator": svc.RemoveCollaborator(ctx, "shop", bad, "root"),
		"TransferApp":        svc.TransferApp(ctx, "shop", bad, "root"),
		"RemoveKey":          func() error { _, err := svc.RemoveKey(ctx, bad, ""); return err }(),
		"KeysOf":             func() error { _, err := svc.KeysOf(ctx, bad); return err }(),
	} {
		if msg, ok := paas.UserMessage(err); !ok || msg != wantName {
			t.Errorf("%s with a bad name: %q", what, msg)
		}
	}
	_, err := svc.RemoveKey(ctx, "root", "SHA256:x\ny")
	if msg, ok := paas.UserMessage(err); !ok || msg != `invalid fingerprint "SHA256:x\ny": use the SHA256:... form keys lists` {
		t.Errorf("RemoveKey with a bad fingerprint: %q", msg)
	}
	if owner, collab, err := svc.AppAccess(ctx, "shop"); err != nil || owner != "root" || len(collab) != 0 {
		t.Fatalf("shop's access after bad input: %q %v %v", owner, collab, err)
	}
	if users, err := svc.Users(ctx); err != nil || len(users) != 1 {
		t.Fatalf("users after bad input: %v %v", users, err)
	}
}
