package gateway

import (
	"context"

	"paas"
)

func (f *fakePlatform) Domains(ctx context.Context, app string) ([]string, error) {
	return nil, paas.Errorf("not implemented")
}

func (f *fakePlatform) AddDomain(ctx context.Context, app, host string) (string, error) {
	return "", paas.Errorf("not implemented")
}

func (f *fakePlatform) RemoveDomain(ctx context.Context, app, host string) error {
	return paas.Errorf("not implemented")
}

func (f *fakePlatform) SetProxy(ctx context.Context, app string, set map[string]string) (paas.ProxySettings, error) {
	return paas.ProxySettings{}, paas.Errorf("not implemented")
}
