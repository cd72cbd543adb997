package store

import (
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestEveryAppAccess checks that the one-transaction listing says of each
// app what AppAccess says, lists every app (one with no access record
// too) and nothing destroyed.
func TestEveryAppAccess(t *testing.T) {
	s, _ := open(t)
	if all, err := s.EveryAppAccess(); err != nil || len(all) != 0 {
		t.Fatalf("EveryAppAccess of an empty store = %v, %v", all, err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := s.AddKey(u, false, testKey(u), "root"); err != nil {
			t.Fatal(err)
		}
	}
	for app, owner := range map[string]string{"shop": "alice", "blog": "bob", "gone": "carol", "old": "carol"} {
		if _, err := s.CreateApp(app, owner); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][2]string{{"shop", "carol"}, {"shop", "bob"}, {"blog", "alice"}} {
		if err := s.AddCollaborator(c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteApp("gone"); err != nil {
		t.Fatal(err)
	}
	// An app from before owners: no access record.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAccess).Delete([]byte("old")) }); err != nil {
		t.Fatal(err)
	}

	all, err := s.EveryAppAccess()
	if err != nil {
		t.Fatal(err)
	}
	want := []AppOwners{
		{App: "blog", Owner: "bob", Collaborators: []string{"alice"}},
		{App: "old"},
		{App: "shop", Owner: "alice", Collaborators: []string{"bob", "carol"}},
	}
	if !slices.EqualFunc(all, want, func(a, b AppOwners) bool {
		return a.App == b.App && a.Owner == b.Owner && slices.Equal(a.Collaborators, b.Collaborators)
	}) {
		t.Fatalf("EveryAppAccess = %+v, want %+v", all, want)
	}
	for _, a := range all {
		owner, collab, err := s.AppAccess(a.App)
		if err != nil || owner != a.Owner || !slices.Equal(collab, a.Collaborators) {
			t.Errorf("AppAccess(%s) = %q %v %v; EveryAppAccess says %+v", a.App, owner, collab, err, a)
		}
	}
}
