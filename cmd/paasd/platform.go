package main

import (
	"context"

	"paas"
	"paas/deploy"
	"paas/gateway"
)

// platform is what the gateway serves: apps, releases and processes from
// deploy, certificates from the TLS front door.
type platform struct {
	*deploy.Service
}

var _ gateway.Platform = platform{}

func (platform) Certs(ctx context.Context, app string) ([]paas.Cert, error) {
	return nil, paas.Errorf("not implemented")
}

func (platform) AddCert(ctx context.Context, app string, certPEM, keyPEM []byte) (paas.Cert, error) {
	return paas.Cert{}, paas.Errorf("not implemented")
}

func (platform) RemoveCert(ctx context.Context, app, host string) error {
	return paas.Errorf("not implemented")
}
