package deploy

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"paas/access"
)

// TestAppRelations checks that the relations to every app, read at once,
// are what Relation says of each app, for owners, collaborators,
// strangers, an admin and nobody.
func TestAppRelations(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	ctx := context.Background()
	svc := h.svc
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := svc.AddKey(ctx, u, false, userKey(u), "root"); err != nil {
			t.Fatal(err)
		}
	}
	if rels, err := svc.AppRelations(ctx, "alice"); err != nil || len(rels) != 0 {
		t.Fatalf("AppRelations with no apps = %v, %v", rels, err)
	}
	for app, owner := range map[string]string{"shop": "alice", "blog": "bob", "wiki": "carol"} {
		if _, err := svc.CreateApp(ctx, app, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AddCollaborator(ctx, "shop", "bob", "alice"); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]access.Relation{
		"alice": {"shop": access.Owner, "blog": access.None, "wiki": access.None},
		"bob":   {"shop": access.Collaborator, "blog": access.Owner, "wiki": access.None},
		"carol": {"shop": access.None, "blog": access.None, "wiki": access.Owner},
		"root":  {"shop": access.None, "blog": access.None, "wiki": access.None},
		"":      {"shop": access.None, "blog": access.None, "wiki": access.None},
	}
	for user, w := range want {
		rels, err := svc.AppRelations(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(rels, w) {
			t.Errorf("AppRelations(%q) = %v, want %v", user, rels, w)
		}
		for _, app := range slices.Sorted(maps.Keys(rels)) {
			if r, exists, err := svc.Relation(app, user); err != nil || !exists || r != rels[app] {
				t.Errorf("Relation(%s, %q) = %v %v %v; AppRelations says %v", app, user, r, exists, err, rels[app])
			}
		}
	}
}
