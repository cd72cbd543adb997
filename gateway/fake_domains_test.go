package gateway

import (
	"context"
	"maps"
	"slices"

	"paas"
)

// The fake keeps domains and proxy settings on its apps, with the
// platform's rules: normalised hosts, one owner per host, every proxy pair
// checked before any is applied.

func (f *fakePlatform) Domains(ctx context.Context, app string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return nil, notFound(app)
	}
	return slices.Clone(a.Domains), nil
}

func (f *fakePlatform) AddDomain(ctx context.Context, app, host string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return "", notFound(app)
	}
	h, err := paas.NormalizeDomain(host)
	if err != nil {
		return "", err
	}
	for _, other := range f.apps {
		if slices.Contains(other.Domains, h) {
			if other.Name == app {
				return "", paas.Errorf("%s is already a domain of %s", h, app)
			}
			return "", paas.Errorf("%s is already a domain of app %s", h, other.Name)
		}
	}
	a.Domains = append(a.Domains, h)
	slices.Sort(a.Domains)
	return h, nil
}

func (f *fakePlatform) RemoveDomain(ctx context.Context, app, host string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return notFound(app)
	}
	h, err := paas.NormalizeDomain(host)
	if err != nil {
		return err
	}
	i := slices.Index(a.Domains, h)
	if i < 0 {
		return paas.Errorf("%s is not a domain of %s", h, app)
	}
	a.Domains = slices.Delete(a.Domains, i, i+1)
	return nil
}

func (f *fakePlatform) SetProxy(ctx context.Context, app string, set map[string]string) (paas.ProxySettings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[app]
	if !ok {
		return paas.ProxySettings{}, notFound(app)
	}
	p := a.Proxy
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if err := paas.ParseProxySetting(&p, k, set[k]); err != nil {
			return paas.ProxySettings{}, err
		}
	}
	a.Proxy = p
	return p, nil
}
