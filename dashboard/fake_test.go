package dashboard

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"paas"
	"paas/access"
	"paas/drains"
	"paas/logs"
)

// fakePlatform is a Platform over maps: users by key, apps with owner
// and collaborators. It records the calls that change something.
type fakePlatform struct {
	mu      sync.Mutex
	keys    map[string]paas.User // fingerprint → user
	options map[string][]string  // fingerprint → the key's options
	apps    map[string]*fakeApp
	calls   []string
	actors  []string
	lookups []string // Relation(app, user) asked
}

type fakeApp struct {
	owner  string
	collab []string
	config map[string]string
	form   map[string]int
	rels   []paas.Release
}

func newFakePlatform() *fakePlatform {
	return &fakePlatform{keys: map[string]paas.User{}, options: map[string][]string{}, apps: map[string]*fakeApp{}}
}

func (f *fakePlatform) addApp(name, owner string, collab ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.apps[name] = &fakeApp{owner: owner, collab: collab, config: map[string]string{"SECRET": "hunter2"}, form: map[string]int{},
		rels: []paas.Release{
			{App: name, Version: 2, Description: "Set SECRET", Config: map[string]string{"SECRET": "hunter2"}, CreatedAt: now, CreatedBy: owner,
				ProcessTypes: map[string]string{"web": "python3 app.py", "worker": "python3 w.py", "release": "migrate"}},
			{App: name, Version: 1, Description: "Deploy abc", Config: map[string]string{}, CreatedAt: now.Add(-time.Hour), CreatedBy: owner},
		}}
}

func (f *fakePlatform) record(ctx context.Context, call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.actors = append(f.actors, paas.Actor(ctx))
	f.mu.Unlock()
}

func (f *fakePlatform) User(fp string) (paas.User, paas.Key, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.keys[fp]
	return u, paas.Key{Fingerprint: fp, User: u.Name, Options: f.options[fp]}, ok
}

func (f *fakePlatform) relationLocked(app, user string) (access.Relation, bool) {
	a := f.apps[app]
	if a == nil {
		return access.None, false
	}
	if a.owner == user {
		return access.Owner, true
	}
	for _, c := range a.collab {
		if c == user {
			return access.Collaborator, true
		}
	}
	return access.None, true
}

func (f *fakePlatform) Relation(app, user string) (access.Relation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, app+"/"+user)
	r, ok := f.relationLocked(app, user)
	return r, ok, nil
}

func (f *fakePlatform) AppRelations(ctx context.Context, user string) (map[string]access.Relation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]access.Relation{}
	for name := range f.apps {
		m[name], _ = f.relationLocked(name, user)
	}
	return m, nil
}

func (f *fakePlatform) app(name string) (*fakeApp, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[name]
	if a == nil {
		return nil, &paas.Error{Msg: fmt.Sprintf("app %s not found", name), Err: paas.ErrAppNotFound}
	}
	return a, nil
}

func (f *fakePlatform) App(ctx context.Context, name string) (paas.App, error) {
	a, err := f.app(name)
	if err != nil {
		return paas.App{}, err
	}
	return paas.App{Name: name, Release: a.rels[0].Version, Formation: a.form}, nil
}

func (f *fakePlatform) Config(ctx context.Context, app string) (map[string]string, error) {
	a, err := f.app(app)
	if err != nil {
		return nil, err
	}
	return a.config, nil
}

func (f *fakePlatform) SetConfig(ctx context.Context, app, by string, set map[string]string, unset []string, out io.Writer) (paas.Release, error) {
	f.record(ctx, fmt.Sprintf("SetConfig %s by=%s set=%v unset=%v", app, by, set, unset))
	return paas.Release{}, nil
}

func (f *fakePlatform) Releases(ctx context.Context, app string) ([]paas.Release, error) {
	a, err := f.app(app)
	if err != nil {
		return nil, err
	}
	return a.rels, nil
}

func (f *fakePlatform) Processes(ctx context.Context, app string) ([]paas.Process, error) {
	if _, err := f.app(app); err != nil {
		return nil, err
	}
	return []paas.Process{{Name: "web.1", Type: "web", Index: 1, Release: 2, State: "up"}}, nil
}

func (f *fakePlatform) Scale(ctx context.Context, app string, counts map[string]int, out io.Writer) error {
	f.record(ctx, fmt.Sprintf("Scale %s %v", app, counts))
	return nil
}

func (f *fakePlatform) Restart(ctx context.Context, app, target string, out io.Writer) error {
	f.record(ctx, fmt.Sprintf("Restart %s %q", app, target))
	return nil
}

func (f *fakePlatform) Rollback(ctx context.Context, app, by string, version int, force bool, out io.Writer) (paas.Release, error) {
	f.record(ctx, fmt.Sprintf("Rollback %s by=%s v%d", app, by, version))
	return paas.Release{}, nil
}

func (f *fakePlatform) Logs(ctx context.Context, app string, q logs.Query, fm logs.Format, w io.Writer) error {
	if _, err := f.app(app); err != nil {
		return err
	}
	for seq := uint64(5); seq <= 7; seq++ {
		l := logs.Line{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Seq: seq, Source: "paas", Proc: "api", Text: fmt.Sprintf("line %d: config changed by alice", seq)}
		if _, err := w.Write(fm.Append(nil, l)); err != nil {
			return err
		}
	}
	if q.Follow {
		<-ctx.Done()
	}
	return nil
}

func (f *fakePlatform) Domains(ctx context.Context, app string) ([]string, error) {
	return []string{"www.example.test"}, nil
}
func (f *fakePlatform) AddDomain(ctx context.Context, app, host string) (string, error) {
	f.record(ctx, fmt.Sprintf("AddDomain %s %s", app, host))
	return host, nil
}
func (f *fakePlatform) RemoveDomain(ctx context.Context, app, host string) error {
	f.record(ctx, fmt.Sprintf("RemoveDomain %s %s", app, host))
	return nil
}
func (f *fakePlatform) AddDrain(ctx context.Context, app, url string) (drains.Status, error) {
	f.record(ctx, fmt.Sprintf("AddDrain %s %s", app, url))
	return drains.Status{}, nil
}
func (f *fakePlatform) RemoveDrain(ctx context.Context, app, which string) (string, error) {
	f.record(ctx, fmt.Sprintf("RemoveDrain %s %s", app, which))
	return "", nil
}
func (f *fakePlatform) Certs(ctx context.Context, app string) ([]paas.Cert, error) { return nil, nil }
func (f *fakePlatform) Drains(ctx context.Context, app string) ([]drains.Status, error) {
	return nil, nil
}
func (f *fakePlatform) Addons(ctx context.Context, app string) ([]paas.Addon, error) {
	return nil, paas.ErrAddonsUnavailable
}

// fakeAudit keeps entries.
type fakeAudit struct {
	mu      sync.Mutex
	entries []paas.AuditEntry
}

func (a *fakeAudit) Record(e paas.AuditEntry) error {
	a.mu.Lock()
	a.entries = append(a.entries, e)
	a.mu.Unlock()
	return nil
}
