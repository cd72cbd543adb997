package gateway

import (
	"context"
	"strconv"
	"sync"

	"paas"
	"paas/drains"
)

// The fake keeps drains per app with the platform's rules: URLs validated
// and shown masked by package drains, one URL once per app, removal by
// URL, masked URL or number.

type fakeDrain struct {
	raw    string
	status drains.Status
}

// fakeDrains holds each fake platform's drains by app: the map itself is
// guarded by fakeDrainsMu, each platform's entry by the platform's mu.
var (
	fakeDrainsMu sync.Mutex
	fakeDrains   = map[*fakePlatform]map[string][]fakeDrain{}
)

// drainsOf returns f's drains by app. Callers hold f.mu.
func (f *fakePlatform) drainsOf() map[string][]fakeDrain {
	fakeDrainsMu.Lock()
	defer fakeDrainsMu.Unlock()
	m := fakeDrains[f]
	if m == nil {
		m = map[string][]fakeDrain{}
		fakeDrains[f] = m
	}
	return m
}

func (f *fakePlatform) Drains(ctx context.Context, app string) ([]drains.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return nil, notFound(app)
	}
	var out []drains.Status
	for _, d := range f.drainsOf()[app] {
		out = append(out, d.status)
	}
	return out, nil
}

func (f *fakePlatform) AddDrain(ctx context.Context, app, url string) (drains.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return drains.Status{}, notFound(app)
	}
	t, err := drains.Parse(url)
	if err != nil {
		return drains.Status{}, err
	}
	for _, d := range f.drainsOf()[app] {
		if d.raw == url {
			return drains.Status{}, paas.Errorf("%s already has the drain %s", app, t.Masked())
		}
	}
	st := drains.Status{App: app, URL: t.Masked(), Token: "d.token-" + strconv.Itoa(len(f.drainsOf()[app])+1), State: drains.StateConnecting}
	f.drainsOf()[app] = append(f.drainsOf()[app], fakeDrain{raw: url, status: st})
	return st, nil
}

func (f *fakePlatform) RemoveDrain(ctx context.Context, app, which string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.apps[app]; !ok {
		return "", notFound(app)
	}
	ds := f.drainsOf()[app]
	for i, d := range ds {
		if d.raw == which || d.status.URL == which || strconv.Itoa(i+1) == which {
			f.drainsOf()[app] = append(ds[:i:i], ds[i+1:]...)
			return d.status.URL, nil
		}
	}
	if _, err := strconv.Atoi(which); err == nil {
		return "", paas.Errorf("%s has no drain number %s (it has %d)", app, which, len(ds))
	}
	return "", paas.Errorf("%s has no drain %s", app, drains.Mask(which))
}

// setDrainStatus changes what the fake reports for app's drain i.
func (f *fakePlatform) setDrainStatus(app string, i int, change func(*drains.Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.drainsOf()[app][i].status)
}
