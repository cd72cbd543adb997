package store

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"paas"

	bolt "go.etcd.io/bbolt"
)

func testKey(fp string) paas.Key {
	return paas.Key{Name: fp, Fingerprint: "SHA256:" + fp, PublicKey: "ssh-ed25519 AAAA" + fp}
}

// userMsg returns err's user-facing message, failing when it has none.
func userMsg(t *testing.T, err error) string {
	t.Helper()
	msg, ok := paas.UserMessage(err)
	if !ok {
		t.Fatalf("error %v is not a user-facing one", err)
	}
	return msg
}

func fingerprints(keys []paas.Key) []string {
	var fps []string
	for _, k := range keys {
		fps = append(fps, k.Fingerprint)
	}
	return fps
}

func TestAddKey(t *testing.T) {
	s, _ := open(t)
	if err := s.AddKey("root", true, testKey("r1"), "paasd keys:add"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey("alice", false, testKey("a1"), "root"); err != nil {
		t.Fatal(err)
	}
	// A second key for an existing user is added to it.
	if err := s.AddKey("alice", false, testKey("a2"), "root"); err != nil {
		t.Fatal(err)
	}
	u, ok, err := s.User("alice")
	if err != nil || !ok || u.Admin || u.CreatedBy != "root" || u.CreatedAt.IsZero() {
		t.Fatalf("User(alice) = %+v %v %v", u, ok, err)
	}
	keys, err := s.KeysOf("alice")
	if err != nil || !slices.Equal(fingerprints(keys), []string{"SHA256:a1", "SHA256:a2"}) {
		t.Fatalf("KeysOf(alice) = %v, %v", fingerprints(keys), err)
	}
	k, ok, err := s.KeyByFingerprint("SHA256:a2")
	if err != nil || !ok || k.User != "alice" || k.AddedBy != "root" || k.AddedAt.IsZero() || k.Admin {
		t.Fatalf("KeyByFingerprint = %+v %v %v", k, ok, err)
	}

	// A key another user has is refused, and nothing changes.
	err = s.AddKey("bob", false, testKey("a1"), "root")
	if msg := userMsg(t, err); msg != "key SHA256:a1 already belongs to user alice" {
		t.Fatalf("adding alice's key to bob: %q", msg)
	}
	if _, ok, _ := s.User("bob"); ok {
		t.Fatal("bob was created by a refused key")
	}
	// A key the user has already is refused too.
	err = s.AddKey("alice", false, testKey("a1"), "root")
	if !errors.Is(err, ErrKeyExists) || userMsg(t, err) != "user alice already has key SHA256:a1" {
		t.Fatalf("adding alice's key again: %v", err)
	}
	// A bad name is refused.
	err = s.AddKey("Bob Smith", false, testKey("b1"), "root")
	if msg := userMsg(t, err); !strings.HasPrefix(msg, `invalid user name "Bob Smith"`) {
		t.Fatalf("adding a key to a bad name: %q", msg)
	}
	if _, ok, _ := s.KeyByFingerprint("SHA256:b1"); ok {
		t.Fatal("the key of a refused user was stored")
	}

	// A member given a key with admin becomes an admin; an admin given
	// one without stays one.
	if err := s.AddKey("alice", true, testKey("a3"), "root"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey("root", false, testKey("r2"), "root"); err != nil {
		t.Fatal(err)
	}
	users, err := s.Users()
	if err != nil || len(users) != 2 || users[0].Name != "alice" || !users[0].Admin || users[1].Name != "root" || !users[1].Admin {
		t.Fatalf("Users = %+v, %v", users, err)
	}
	all, err := s.Keys()
	if err != nil || !slices.Equal(fingerprints(all), []string{"SHA256:a1", "SHA256:a2", "SHA256:a3", "SHA256:r1", "SHA256:r2"}) {
		t.Fatalf("Keys = %v, %v", fingerprints(all), err)
	}
	if _, err := s.KeysOf("nobody"); !errors.Is(err, paas.ErrUserNotFound) || userMsg(t, err) != "unknown user nobody" {
		t.Fatalf("KeysOf(nobody): %v", err)
	}
}

func TestAdmitKeyReplaces(t *testing.T) {
	s, _ := open(t)
	k := testKey("a1")
	if err := s.AdmitKey("alice", k, "PAAS_AUTHORIZED_KEYS"); err != nil {
		t.Fatal(err)
	}
	first, _, _ := s.KeyByFingerprint(k.Fingerprint)
	k.Options = []string{"no-pty"}
	if err := s.AdmitKey("alice", k, "PAAS_AUTHORIZED_KEYS"); err != nil {
		t.Fatalf("admitting the same key again: %v", err)
	}
	got, _, _ := s.KeyByFingerprint(k.Fingerprint)
	if !slices.Equal(got.Options, []string{"no-pty"}) || !got.AddedAt.Equal(first.AddedAt) || got.User != "alice" {
		t.Fatalf("readmitted key = %+v", got)
	}
	if u, _, _ := s.User("alice"); !u.Admin {
		t.Fatal("an admitted key's user is not an admin")
	}
	// A key the operator's list names differently stays its user's, who
	// becomes an admin.
	if err := s.AddKey("bob", false, testKey("b1"), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.AdmitKey("robert", testKey("b1"), "PAAS_AUTHORIZED_KEYS"); err != nil {
		t.Fatalf("admitting bob's key under another name: %v", err)
	}
	if got, _, _ := s.KeyByFingerprint("SHA256:b1"); got.User != "bob" {
		t.Fatalf("bob's key went to %s", got.User)
	}
	if u, _, _ := s.User("bob"); !u.Admin {
		t.Fatal("the user of an admitted key is not an admin")
	}
	if _, ok, _ := s.User("robert"); ok {
		t.Fatal("robert was created")
	}
}

func TestRemoveKey(t *testing.T) {
	s, _ := open(t)
	for _, c := range []struct {
		user  string
		admin bool
		fp    string
	}{{"root", true, "r1"}, {"alice", false, "a1"}, {"alice", false, "a2"}, {"bob", false, "b1"}} {
		if err := s.AddKey(c.user, c.admin, testKey(c.fp), "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RemoveKey("nobody", ""); userMsg(t, err) != "unknown user nobody" {
		t.Fatalf("removing an unknown user: %v", err)
	}
	if _, err := s.RemoveKey("alice", "SHA256:b1"); userMsg(t, err) != "user alice has no key SHA256:b1" {
		t.Fatalf("removing bob's key as alice's: %v", err)
	}
	removed, err := s.RemoveKey("alice", "SHA256:a1")
	if err != nil || !slices.Equal(fingerprints(removed), []string{"SHA256:a1"}) {
		t.Fatalf("RemoveKey(alice, a1) = %v, %v", fingerprints(removed), err)
	}
	if _, ok, _ := s.KeyByFingerprint("SHA256:a1"); ok {
		t.Fatal("a removed key is still found")
	}
	if _, ok, _ := s.User("alice"); !ok {
		t.Fatal("removing one key removed the user")
	}

	// The last admin's last key stays, whether asked by fingerprint or
	// for the whole user.
	for _, fp := range []string{"SHA256:r1", ""} {
		_, err := s.RemoveKey("root", fp)
		if msg := userMsg(t, err); msg != "root has the last admin key: add another admin first" {
			t.Fatalf("RemoveKey(root, %q): %q", fp, msg)
		}
	}
	if _, ok, _ := s.KeyByFingerprint("SHA256:r1"); !ok {
		t.Fatal("the last admin key was removed")
	}
	// With a second admin it may go.
	if err := s.AddKey("carol", true, testKey("c1"), "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveKey("root", "SHA256:r1"); err != nil {
		t.Fatalf("removing root's key with carol an admin: %v", err)
	}

	// A user who owns an app is not removed; their collaborations go
	// with them.
	if _, err := s.CreateApp("shop", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateApp("blog", "carol"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollaborator("blog", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveKey("bob", ""); userMsg(t, err) != "user bob owns app shop: transfer or destroy it first" {
		t.Fatalf("removing an owner: %v", err)
	}
	if _, ok, _ := s.KeyByFingerprint("SHA256:b1"); !ok {
		t.Fatal("a refused removal removed the key")
	}
	if err := s.TransferApp("shop", "carol"); err != nil {
		t.Fatal(err)
	}
	// Nor one who owns an add-on attached to no app.
	if _, err := s.CreateAddon(Addon{Name: "bob-db", Engine: "postgres", CreatedBy: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveKey("bob", ""); userMsg(t, err) != "user bob owns add-on bob-db, attached to no app: attach or destroy it first" {
		t.Fatalf("removing an add-on's owner: %v", err)
	}
	if _, err := s.AttachAddon("bob-db", "shop", "DATABASE_URL", "postgres://x", "bob"); err != nil {
		t.Fatal(err)
	}
	removed, err = s.RemoveKey("bob", "")
	if err != nil || !slices.Equal(fingerprints(removed), []string{"SHA256:b1"}) {
		t.Fatalf("RemoveKey(bob) = %v, %v", fingerprints(removed), err)
	}
	if _, ok, _ := s.User("bob"); ok {
		t.Fatal("bob is still a user")
	}
	for _, app := range []string{"blog", "shop"} {
		if _, collab, _ := s.AppAccess(app); slices.Contains(collab, "bob") {
			t.Fatalf("bob still collaborates on %s", app)
		}
	}
	// A new bob is nobody to the apps the old one had.
	if err := s.AddKey("bob", false, testKey("b2"), "carol"); err != nil {
		t.Fatal(err)
	}
	if owner, collab, _ := s.AppAccess("shop"); owner != "carol" || len(collab) != 0 {
		t.Fatalf("shop: owner %s, collaborators %v", owner, collab)
	}
}

func TestAppAccess(t *testing.T) {
	s, _ := open(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := s.AddKey(u, false, testKey(u), "root"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateApp("shop", "alice"); err != nil {
		t.Fatal(err)
	}
	check := func(wantOwner string, wantCollab ...string) {
		t.Helper()
		owner, collab, err := s.AppAccess("shop")
		if err != nil || owner != wantOwner || !slices.Equal(collab, wantCollab) {
			t.Fatalf("AppAccess = %q %v %v, want %q %v", owner, collab, err, wantOwner, wantCollab)
		}
	}
	check("alice")
	if _, _, err := s.AppAccess("nope"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("AppAccess(nope): %v", err)
	}

	if err := s.AddCollaborator("shop", "carol"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollaborator("shop", "bob"); err != nil {
		t.Fatal(err)
	}
	check("alice", "bob", "carol")
	for _, c := range []struct{ app, user, want string }{
		{"shop", "dave", "unknown user dave"},
		{"shop", "alice", "alice owns shop"},
		{"shop", "bob", "bob is already a collaborator on shop"},
	} {
		if msg := userMsg(t, s.AddCollaborator(c.app, c.user)); msg != c.want {
			t.Errorf("AddCollaborator(%s, %s) = %q, want %q", c.app, c.user, msg, c.want)
		}
	}
	if err := s.AddCollaborator("nope", "bob"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Errorf("AddCollaborator(nope): %v", err)
	}
	check("alice", "bob", "carol")

	if err := s.RemoveCollaborator("shop", "carol"); err != nil {
		t.Fatal(err)
	}
	check("alice", "bob")
	if msg := userMsg(t, s.RemoveCollaborator("shop", "carol")); msg != "carol is not a collaborator on shop" {
		t.Errorf("removing carol again: %q", msg)
	}
	if msg := userMsg(t, s.RemoveCollaborator("shop", "alice")); msg != "alice owns shop: transfer it to someone else instead" {
		t.Errorf("removing the owner: %q", msg)
	}

	// A transfer makes the old owner a collaborator.
	if err := s.TransferApp("shop", "bob"); err != nil {
		t.Fatal(err)
	}
	check("bob", "alice")
	if msg := userMsg(t, s.TransferApp("shop", "bob")); msg != "bob already owns shop" {
		t.Errorf("transfer to the owner: %q", msg)
	}
	if msg := userMsg(t, s.TransferApp("shop", "dave")); msg != "unknown user dave" {
		t.Errorf("transfer to nobody: %q", msg)
	}
	check("bob", "alice")

	// A destroyed app's access goes with it: a new app of its name is
	// its creator's alone.
	if err := s.DeleteApp("shop"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppAccess("shop"); !errors.Is(err, paas.ErrAppNotFound) {
		t.Fatalf("AppAccess of a deleted app: %v", err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccess).Get([]byte("shop")) != nil {
			t.Error("the deleted app's access is still stored")
		}
		return nil
	})
	if _, err := s.CreateApp("shop", "carol"); err != nil {
		t.Fatal(err)
	}
	check("carol")
}

// TestRemovedKeyStaysRemoved checks that a key removed with keys:remove
// is not brought back by the list of admin keys read at start, and that
// adding it explicitly brings it back.
func TestRemovedKeyStaysRemoved(t *testing.T) {
	s, _ := open(t)
	if err := s.AdmitListedKey("alice", testKey("a1"), "PAAS_AUTHORIZED_KEYS"); err != nil {
		t.Fatal(err)
	}
	if err := s.AdmitListedKey("bob", testKey("b1"), "PAAS_AUTHORIZED_KEYS"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveKey("bob", ""); err != nil {
		t.Fatal(err)
	}
	err := s.AdmitListedKey("bob", testKey("b1"), "PAAS_AUTHORIZED_KEYS")
	if !errors.Is(err, ErrKeyRemoved) || userMsg(t, err) != "key SHA256:b1 was removed with keys:remove: not admitted again" {
		t.Fatalf("admitting a removed key from the list: %v", err)
	}
	if _, ok, _ := s.KeyByFingerprint("SHA256:b1"); ok {
		t.Fatal("the removed key is back")
	}
	if _, ok, _ := s.User("bob"); ok {
		t.Fatal("the removed user is back")
	}
	// An admin adding it again means it.
	if err := s.AddKey("bob", false, testKey("b1"), "alice"); err != nil {
		t.Fatalf("adding the removed key again: %v", err)
	}
	if err := s.AdmitListedKey("bob", testKey("b1"), "PAAS_AUTHORIZED_KEYS"); err != nil {
		t.Fatalf("the list admits a key added again: %v", err)
	}
}
