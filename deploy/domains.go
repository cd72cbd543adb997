package deploy

import (
	"context"

	"paas"
)

// Domains lists the app's custom domains, sorted.
func (s *Service) Domains(ctx context.Context, app string) ([]string, error) {
	return nil, paas.Errorf("not implemented")
}

// AddDomain routes host to the app.
func (s *Service) AddDomain(ctx context.Context, app, host string) (string, error) {
	return "", paas.Errorf("not implemented")
}

// RemoveDomain stops routing host to the app.
func (s *Service) RemoveDomain(ctx context.Context, app, host string) error {
	return paas.Errorf("not implemented")
}

// SetProxy changes the app's router settings.
func (s *Service) SetProxy(ctx context.Context, app string, set map[string]string) (paas.ProxySettings, error) {
	return paas.ProxySettings{}, paas.Errorf("not implemented")
}
