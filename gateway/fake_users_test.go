package gateway

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"paas"
	"paas/access"
)

// The fake's users and access, with the platform's rules. A key put in
// f.keys directly belongs to a user of that name who is an admin unless
// the user was added with addUser: the gateway tests written before users
// existed act as admins. An app's owner is its creator until it is
// transferred.

// fakeTeam is one fake platform's users and access; guarded by the
// platform's mu.
type fakeTeam struct {
	users   map[string]paas.User
	keyInfo map[string]paas.Key // fingerprint -> key, for keys added with AddKey
	owners  map[string]string   // app -> owner, once transferred
	collabs map[string][]string // app -> collaborators
}

var (
	fakeTeamsMu sync.Mutex
	fakeTeams   = map[*fakePlatform]*fakeTeam{}
)

// team returns f's users and access. Callers hold f.mu.
func (f *fakePlatform) team() *fakeTeam {
	fakeTeamsMu.Lock()
	defer fakeTeamsMu.Unlock()
	t := fakeTeams[f]
	if t == nil {
		t = &fakeTeam{users: map[string]paas.User{}, keyInfo: map[string]paas.Key{}, owners: map[string]string{}, collabs: map[string][]string{}}
		fakeTeams[f] = t
	}
	return t
}

// addUser makes a user (with no key yet).
func (f *fakePlatform) addUser(name string, admin bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.team().users[name] = paas.User{Name: name, Admin: admin}
}

// userLocked returns the user called name.
func (f *fakePlatform) userLocked(name string) (paas.User, bool) {
	if u, ok := f.team().users[name]; ok {
		return u, true
	}
	for _, n := range f.keys {
		if n == name {
			return paas.User{Name: name, Admin: true}, true
		}
	}
	return paas.User{}, false
}

func (f *fakePlatform) User(fp string) (paas.User, paas.Key, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.keys[fp]
	if !ok {
		return paas.User{}, paas.Key{}, false
	}
	u, ok := f.userLocked(name)
	if !ok {
		return paas.User{}, paas.Key{}, false
	}
	k, ok := f.team().keyInfo[fp]
	if !ok {
		k = paas.Key{Name: name, Fingerprint: fp, User: name, PublicKey: "ssh-ed25519 AAAA"}
	}
	k.Options = f.keyOptions[fp]
	return u, k, true
}

// relationLocked is how user stands to app.
func (f *fakePlatform) relationLocked(app, user string) (access.Relation, bool) {
	a, ok := f.apps[app]
	if !ok {
		return access.None, false
	}
	t := f.team()
	owner, ok := t.owners[app]
	if !ok {
		owner = a.CreatedBy
	}
	switch {
	case owner == user:
		return access.Owner, true
	case slices.Contains(t.collabs[app], user):
		return access.Collaborator, true
	}
	return access.None, true
}

func (f *fakePlatform) Relation(app, user string) (access.Relation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel, ok := f.relationLocked(app, user)
	return rel, ok, nil
}

func (f *fakePlatform) AppRelations(ctx context.Context, user string) (map[string]access.Relation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rels := map[string]access.Relation{}
	for app := range f.apps {
		rels[app], _ = f.relationLocked(app, user)
	}
	return rels, nil
}

func (f *fakePlatform) AddonRelation(name, user string) (access.Relation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.addons()
	if err != nil {
		return access.None, false, err
	}
	a, ok := all[name]
	if !ok {
		return access.None, false, nil
	}
	if len(a.Attachments) == 0 {
		if a.CreatedBy == user {
			return access.Owner, true, nil
		}
		return access.None, true, nil
	}
	best := access.None
	for app := range a.Attachments {
		rel, _ := f.relationLocked(app, user)
		best = max(best, rel)
	}
	return best, true, nil
}

func (f *fakePlatform) AddKey(ctx context.Context, user string, admin bool, k paas.Key, by string) error {
	if err := paas.ValidateUserName(user); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.team()
	if other, ok := f.keys[k.Fingerprint]; ok {
		if other == user {
			return paas.Errorf("user %s already has key %s", user, k.Fingerprint)
		}
		return paas.Errorf("key %s already belongs to user %s", k.Fingerprint, other)
	}
	u, ok := f.userLocked(user)
	if !ok {
		u = paas.User{Name: user, CreatedBy: by}
	}
	u.Admin = u.Admin || admin
	t.users[user] = u
	k.User, k.AddedBy = user, by
	f.keys[k.Fingerprint] = user
	f.keyOptions[k.Fingerprint] = k.Options
	t.keyInfo[k.Fingerprint] = k
	return nil
}

func (f *fakePlatform) RemoveKey(ctx context.Context, user, fingerprint string) ([]paas.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.team()
	u, ok := f.userLocked(user)
	if !ok {
		return nil, paas.Errorf("unknown user %s", user)
	}
	var removed []paas.Key
	for _, fp := range slices.Sorted(maps.Keys(f.keys)) {
		if f.keys[fp] == user && (fingerprint == "" || fp == fingerprint) {
			k, ok := t.keyInfo[fp]
			if !ok {
				k = paas.Key{Name: user, Fingerprint: fp, User: user}
			}
			removed = append(removed, k)
		}
	}
	if fingerprint != "" && len(removed) == 0 {
		return nil, paas.Errorf("user %s has no key %s", user, fingerprint)
	}
	if u.Admin {
		left := 0
		for fp, n := range f.keys {
			if v, _ := f.userLocked(n); v.Admin && !slices.ContainsFunc(removed, func(k paas.Key) bool { return k.Fingerprint == fp }) {
				left++
			}
		}
		if left == 0 {
			return nil, paas.Errorf("%s holds the last admin key: add another admin first", user)
		}
	}
	for _, k := range removed {
		delete(f.keys, k.Fingerprint)
		delete(t.keyInfo, k.Fingerprint)
	}
	if fingerprint == "" {
		delete(t.users, user)
	}
	return removed, nil
}

func (f *fakePlatform) Users(ctx context.Context) ([]paas.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]paas.User{}
	for _, n := range f.keys {
		u, _ := f.userLocked(n)
		seen[n] = u
	}
	maps.Copy(seen, f.team().users)
	return slices.SortedFunc(maps.Values(seen), func(a, b paas.User) int { return cmp.Compare(a.Name, b.Name) }), nil
}

func (f *fakePlatform) KeysOf(ctx context.Context, user string) ([]paas.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.userLocked(user); user != "" && !ok {
		return nil, paas.Errorf("unknown user %s", user)
	}
	var out []paas.Key
	for _, fp := range slices.Sorted(maps.Keys(f.keys)) {
		n := f.keys[fp]
		if user != "" && n != user {
			continue
		}
		k, ok := f.team().keyInfo[fp]
		if !ok {
			k = paas.Key{Name: n, Fingerprint: fp, User: n, PublicKey: "ssh-ed25519 AAAA"}
		}
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(a, b paas.Key) int { return cmp.Compare(a.User, b.User) })
	return out, nil
}

func (f *fakePlatform) AppAccess(ctx context.Context, app string) (string, []string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return "", nil, notFound(app)
	}
	t := f.team()
	owner, ok := t.owners[app]
	if !ok {
		owner = a.CreatedBy
	}
	return owner, slices.Sorted(slices.Values(t.collabs[app])), nil
}

func (f *fakePlatform) AddCollaborator(ctx context.Context, app, user, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel, ok := f.relationLocked(app, user)
	switch {
	case !ok:
		return notFound(app)
	case !f.knownLocked(user):
		return paas.Errorf("unknown user %s", user)
	case rel != access.None:
		return paas.Errorf("%s already has access to %s", user, app)
	}
	t := f.team()
	t.collabs[app] = append(t.collabs[app], user)
	return nil
}

func (f *fakePlatform) knownLocked(user string) bool {
	_, ok := f.userLocked(user)
	return ok
}

func (f *fakePlatform) RemoveCollaborator(ctx context.Context, app, user, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel, ok := f.relationLocked(app, user)
	switch {
	case !ok:
		return notFound(app)
	case rel != access.Collaborator:
		return paas.Errorf("%s is not a collaborator on %s", user, app)
	}
	t := f.team()
	t.collabs[app] = slices.DeleteFunc(t.collabs[app], func(c string) bool { return c == user })
	return nil
}

func (f *fakePlatform) TransferApp(ctx context.Context, app, user, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel, ok := f.relationLocked(app, user)
	switch {
	case !ok:
		return notFound(app)
	case !f.knownLocked(user):
		return paas.Errorf("unknown user %s", user)
	case rel == access.Owner:
		return paas.Errorf("%s already owns %s", user, app)
	}
	t := f.team()
	owner, ok := t.owners[app]
	if !ok {
		owner = f.apps[app].CreatedBy
	}
	t.collabs[app] = append(slices.DeleteFunc(t.collabs[app], func(c string) bool { return c == user }), owner)
	t.owners[app] = user
	return nil
}

// collaborate makes user a collaborator on app, for tests.
func (f *fakePlatform) collaborate(app, user string) {
	if err := f.AddCollaborator(context.Background(), app, user, "test"); err != nil {
		panic(fmt.Sprintf("collaborate %s %s: %v", app, user, err))
	}
}
