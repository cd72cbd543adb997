package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"paas"
	"paas/certs"
	"paas/deploy"
	"paas/drains"
	"paas/gateway"
	"paas/store"
)

// platform is what the gateway serves: apps, releases and processes from
// deploy, certificates from the TLS front door, log drains from the drain
// manager.
type platform struct {
	*deploy.Service
	certs  *certs.Manager
	drains *drains.Manager
}

var _ gateway.Platform = platform{}

// Certs lists the app's hosts, each with the certificate serving it (or
// the one to come), then its user certificates that serve none.
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
	c, err := p.certs.Add(ctx, app, certPEM, keyPEM)
	if err == nil {
		p.Note(ctx, app, "Certificate for %s added", strings.Join(c.Hosts, ", "))
	}
	return c, err
}

// RemoveCert removes the app's own certificate for host.
func (p platform) RemoveCert(ctx context.Context, app, host string) error {
	if _, err := p.App(ctx, app); err != nil {
		return err
	}
	if err := p.certs.Remove(ctx, app, host); err != nil {
		return err
	}
	p.Note(ctx, app, "Certificate for %s removed", host)
	return nil
}

// DestroyApp destroys the app, then stops and forgets its log drains and
// deletes the certificates the user brought for it.
func (p platform) DestroyApp(ctx context.Context, name string) error {
	if err := p.Service.DestroyApp(ctx, name); err != nil {
		return err
	}
	return errors.Join(p.drains.RemoveApp(name), p.certs.RemoveApp(name))
}

// RenameApp renames the app with everything it has (see
// deploy.Service.RenameApp); its certificates and log drains follow.
func (p platform) RenameApp(ctx context.Context, old, new, by string, out io.Writer) error {
	if err := p.Service.RenameApp(ctx, old, new, by, certs.RenameOptions(new), out); err != nil {
		return err
	}
	p.drains.RenameApp(old, new)
	return p.certs.Reload()
}

// Drains lists the app's log drains.
func (p platform) Drains(ctx context.Context, app string) ([]drains.Status, error) {
	if _, err := p.App(ctx, app); err != nil {
		return nil, err
	}
	return p.drains.List(app), nil
}

// AddDrain starts sending the app's log stream to url.
func (p platform) AddDrain(ctx context.Context, app, url string) (drains.Status, error) {
	if _, err := p.App(ctx, app); err != nil {
		return drains.Status{}, err
	}
	st, err := p.drains.Add(app, url)
	if err == nil {
		// The URL as listed: its password and token masked.
		p.Note(ctx, app, "Log drain %s added", st.URL)
	}
	return st, err
}

// RemoveDrain stops one of the app's log drains.
func (p platform) RemoveDrain(ctx context.Context, app, which string) (string, error) {
	if _, err := p.App(ctx, app); err != nil {
		return "", err
	}
	masked, err := p.drains.Remove(app, which)
	if err == nil {
		p.Note(ctx, app, "Log drain %s removed", masked)
	}
	return masked, err
}

// drainStore keeps log drains in the store.
type drainStore struct {
	st  *store.Store
	log *slog.Logger
}

func (d drainStore) AddDrain(r drains.Record) error {
	return d.st.AddDrain(r.App, store.Drain{URL: r.URL, Token: r.Token, Added: r.Added})
}

func (d drainStore) RemoveDrain(app, url string) error { return d.st.RemoveDrain(app, url) }

func (d drainStore) DeleteDrains(app string) error { return d.st.DeleteDrains(app) }

// AllDrains returns the stored drains of existing apps; those of an app
// that is gone are deleted.
func (d drainStore) AllDrains() ([]drains.Record, error) {
	all, damaged, err := d.st.AllDrains()
	if err != nil {
		return nil, err
	}
	for app, n := range damaged {
		d.log.Error("log drains damaged", "app", app, "count", n, "note", fmt.Sprintf(
			"%d log drain(s) of app %s are damaged in paasd's store and are not started: add each again (drains:add %s URL), which clears the damaged records", n, app, app))
	}
	var out []drains.Record
	for app, ds := range all {
		if _, err := d.st.App(app); errors.Is(err, paas.ErrAppNotFound) {
			if err := d.st.DeleteDrains(app); err != nil {
				return nil, err
			}
			continue
		}
		for _, r := range ds {
			out = append(out, drains.Record{App: app, URL: r.URL, Token: r.Token, Added: r.Added})
		}
	}
	return out, nil
}

// appExists reports whether an app exists; a store error counts as yes,
// so that nothing is deleted on a doubt.
func appExists(st *store.Store) func(app string) bool {
	return func(app string) bool {
		_, err := st.App(app)
		return !errors.Is(err, paas.ErrAppNotFound)
	}
}
