package deploy

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"paas"
	"paas/router"
)

// routerOptions are the router settings the app's stored state asks for.
func routerOptions(app paas.App) router.Options {
	return router.Options{Domains: app.Domains, ProxySettings: app.Proxy}
}

// pushOptions hands the app's stored domains and proxy settings to the
// router. An app the store no longer has is removed from the router, so a
// change racing apps:destroy cannot bring its hosts back.
func (s *Service) pushOptions(app string) error {
	s.optionsMu.Lock()
	defer s.optionsMu.Unlock()
	a, err := s.cfg.Store.App(app)
	if errors.Is(err, paas.ErrAppNotFound) {
		s.cfg.Router.Remove(app)
		return nil
	}
	if err != nil {
		return err
	}
	s.cfg.Router.SetOptions(app, routerOptions(a))
	return nil
}

// Domains lists the app's custom domains, sorted.
func (s *Service) Domains(ctx context.Context, app string) ([]string, error) {
	a, err := s.App(ctx, app)
	if err != nil {
		return nil, err
	}
	return a.Domains, nil
}

// AddDomain routes host to the app and returns it normalised. A host at or
// directly below the platform domain is refused unless it is the app's own
// default host: it would shadow another app's.
func (s *Service) AddDomain(ctx context.Context, app, host string) (string, error) {
	if _, err := s.App(ctx, app); err != nil {
		return "", err
	}
	h, err := paas.NormalizeDomain(host)
	if err != nil {
		return "", err
	}
	if err := s.checkPlatformDomain(app, h); err != nil {
		return "", err
	}
	if _, err := s.cfg.Store.AddDomain(app, h); err != nil {
		return "", userError(app, err)
	}
	if err := s.pushOptions(app); err != nil {
		return "", err
	}
	s.change(app, 0, "Domain %s added%s", h, byUser(ctx))
	return h, nil
}

// checkPlatformDomain refuses host when it is the platform domain, a
// wildcard directly below it, or another app's default host.
func (s *Service) checkPlatformDomain(app, host string) error {
	d := s.cfg.Domain
	if d == "" {
		return nil
	}
	if host == d {
		return paas.Errorf("%s is the platform domain: it cannot be an app's domain", host)
	}
	label, ok := strings.CutSuffix(host, "."+d)
	if !ok || strings.Contains(label, ".") || label == app {
		return nil
	}
	if label == "*" {
		return paas.Errorf("%s would cover every app's default host under %s", host, d)
	}
	return paas.Errorf("%s is directly below the platform domain %s, where each app has its default host: use a host outside %s", host, d, d)
}

// RemoveDomain stops routing host to the app.
func (s *Service) RemoveDomain(ctx context.Context, app, host string) error {
	if _, err := s.App(ctx, app); err != nil {
		return err
	}
	h, err := paas.NormalizeDomain(host)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.RemoveDomain(app, h); err != nil {
		return userError(app, err)
	}
	if err := s.pushOptions(app); err != nil {
		return err
	}
	s.change(app, 0, "Domain %s removed%s", h, byUser(ctx))
	return nil
}

// SetProxy changes the app's router settings from KEY=VALUE pairs (see
// paas.ParseProxySetting) and returns them all. Every pair is checked
// before any is applied: one bad pair changes nothing.
func (s *Service) SetProxy(ctx context.Context, app string, set map[string]string) (paas.ProxySettings, error) {
	if _, err := s.App(ctx, app); err != nil {
		return paas.ProxySettings{}, err
	}
	if len(set) == 0 {
		return paas.ProxySettings{}, paas.Errorf("nothing to set: use KEY=VALUE with %s", strings.Join(paas.ProxyKeys, ", "))
	}
	keys := slices.Sorted(maps.Keys(set))
	var scratch paas.ProxySettings
	for _, k := range keys {
		if err := paas.ParseProxySetting(&scratch, k, set[k]); err != nil {
			return paas.ProxySettings{}, err
		}
	}
	a, err := s.cfg.Store.UpdateProxy(app, func(p *paas.ProxySettings) error {
		for _, k := range keys {
			if err := paas.ParseProxySetting(p, k, set[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return paas.ProxySettings{}, userError(app, err)
	}
	if err := s.pushOptions(app); err != nil {
		return a.Proxy, err
	}
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + set[k]
	}
	s.change(app, 0, "Router settings changed%s: %s", byUser(ctx), strings.Join(pairs, " "))
	return a.Proxy, nil
}
