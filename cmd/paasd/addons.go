package main

import (
	"context"
	"errors"
	"io"

	"paas"
	"paas/addons"
	"paas/deploy"
	"paas/runtime"
)

// addonProvisioner gives deploy the backing services of package addons.
type addonProvisioner struct{ *addons.Docker }

func (p addonProvisioner) Create(ctx context.Context, name, engine, password string, out io.Writer) (deploy.AddonService, error) {
	version, err := p.Docker.Create(ctx, name, engine, password, out)
	if err != nil {
		return deploy.AddonService{}, err
	}
	svc := deploy.AddonService{Version: version, Host: name, Port: 5432, User: "app"}
	if engine == addons.Redis {
		svc.Port, svc.User = 6379, "default"
	}
	return svc, nil
}

func (p addonProvisioner) Status(ctx context.Context, name string) (deploy.AddonStatus, error) {
	st, err := p.Docker.Status(ctx, name)
	return deploy.AddonStatus{Version: st.Version, State: st.State, DiskBytes: st.DiskBytes}, err
}

// errNotAvailable answers the provisioner methods this build of package
// addons lacks.
var errNotAvailable = &paas.Error{Msg: "not available on this server yet", Err: errors.ErrUnsupported}

func (p addonProvisioner) Connect(ctx context.Context, name, user, password string, stdio runtime.Stdio) (int, error) {
	return 0, errNotAvailable
}

func (p addonProvisioner) Backup(ctx context.Context, name string, w io.Writer) error {
	return errNotAvailable
}

func (p addonProvisioner) Restore(ctx context.Context, name string, r io.Reader) error {
	return errNotAvailable
}

func (p addonProvisioner) AddCredential(ctx context.Context, name, user, password string) error {
	return errNotAvailable
}

func (p addonProvisioner) RemoveCredential(ctx context.Context, name, user, password string) error {
	return errNotAvailable
}

func (p addonProvisioner) Logs(ctx context.Context, name string, n int) ([]string, error) {
	return nil, errNotAvailable
}

// addonURL is the URL of a service, in deploy's terms.
func addonURL(engine, user, password, host string, port int) string {
	return addons.URL(engine, host, password)
}
