package main

import (
	"context"

	"paas"
	"paas/certs"
	"paas/deploy"
	"paas/gateway"
)

// platform is what the gateway serves: apps, releases and processes from
// deploy, certificates from the TLS front door.
type platform struct {
	*deploy.Service
	certs *certs.Manager
}

var _ gateway.Platform = platform{}

// Certs lists the certificates serving the app's hosts.
func (p platform) Certs(ctx context.Context, app string) ([]paas.Cert, error) {
	if _, err := p.App(ctx, app); err != nil {
		return nil, err
	}
	return p.certs.List(ctx, app)
}

// AddCert stores a certificate the user brings for the app's hosts.
func (p platform) AddCert(ctx context.Context, app string, certPEM, keyPEM []byte) (paas.Cert, error) {
	if _, err := p.App(ctx, app); err != nil {
		return paas.Cert{}, err
	}
	return p.certs.Add(ctx, app, certPEM, keyPEM)
}

// RemoveCert removes the app's own certificate for host.
func (p platform) RemoveCert(ctx context.Context, app, host string) error {
	if _, err := p.App(ctx, app); err != nil {
		return err
	}
	return p.certs.Remove(ctx, app, host)
}
