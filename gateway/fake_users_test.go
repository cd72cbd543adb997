package gateway

import (
	"context"

	"paas"
	"paas/access"
)

// The fake platform's users and access: every key an admin, every app
// visible. The gateway's access tests replace these.

func (f *fakePlatform) User(fp string) (paas.User, paas.Key, bool) {
	k, ok := f.Authenticate(fp)
	if !ok {
		return paas.User{}, paas.Key{}, false
	}
	return paas.User{Name: k.Name, Admin: true}, k, true
}

func (f *fakePlatform) Relation(app, user string) (access.Relation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.apps[app]
	return access.Owner, ok, nil
}

func (f *fakePlatform) AddonRelation(name, user string) (access.Relation, bool, error) {
	return access.Owner, true, nil
}

func (f *fakePlatform) AddKey(ctx context.Context, user string, admin bool, k paas.Key, by string) error {
	return paas.Errorf("not supported by the fake platform")
}

func (f *fakePlatform) RemoveKey(ctx context.Context, user, fingerprint string) ([]paas.Key, error) {
	return nil, paas.Errorf("not supported by the fake platform")
}

func (f *fakePlatform) Users(ctx context.Context) ([]paas.User, error) { return nil, nil }

func (f *fakePlatform) KeysOf(ctx context.Context, user string) ([]paas.Key, error) {
	return nil, nil
}

func (f *fakePlatform) AppAccess(ctx context.Context, app string) (string, []string, error) {
	return "", nil, paas.Errorf("not supported by the fake platform")
}

func (f *fakePlatform) AddCollaborator(ctx context.Context, app, user, by string) error {
	return paas.Errorf("not supported by the fake platform")
}

func (f *fakePlatform) RemoveCollaborator(ctx context.Context, app, user, by string) error {
	return paas.Errorf("not supported by the fake platform")
}

func (f *fakePlatform) TransferApp(ctx context.Context, app, user, by string) error {
	return paas.Errorf("not supported by the fake platform")
}
