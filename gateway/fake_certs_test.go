package gateway

import (
	"context"

	"paas"
)

func (f *fakePlatform) Certs(ctx context.Context, app string) ([]paas.Cert, error) {
	return nil, paas.Errorf("not implemented")
}

func (f *fakePlatform) AddCert(ctx context.Context, app string, certPEM, keyPEM []byte) (paas.Cert, error) {
	return paas.Cert{}, paas.Errorf("not implemented")
}

func (f *fakePlatform) RemoveCert(ctx context.Context, app, host string) error {
	return paas.Errorf("not implemented")
}
