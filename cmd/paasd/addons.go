package main

import (
	"context"
	"io"
	"sync/atomic"

	"paas/addons"
	"paas/deploy"
	"paas/runtime"
)

// addonBackend is what both provisioners of package addons do: Docker's
// containers and Exec's host processes.
type addonBackend interface {
	Create(ctx context.Context, name, engine, password string, out io.Writer) (addons.Service, error)
	Attach(ctx context.Context, name, app string) error
	Detach(ctx context.Context, name, app string) error
	Destroy(ctx context.Context, name string) error
	Status(ctx context.Context, name string) (addons.Status, error)
	Names(ctx context.Context) ([]string, error)
	Connect(ctx context.Context, name, user, password string, stdio runtime.Stdio) (int, error)
	Backup(ctx context.Context, name string, w io.Writer) error
	Restore(ctx context.Context, name string, r io.Reader) error
	AddCredential(ctx context.Context, name, user, password string) error
	RemoveCredential(ctx context.Context, name, user, password string) error
	Logs(ctx context.Context, name string, n int) ([]string, error)
}

var (
	_ addonBackend = (*addons.Docker)(nil)
	_ addonBackend = (*addons.Exec)(nil)
)

// addonProvisioner gives deploy the backing services of package addons.
type addonProvisioner struct{ addonBackend }

func (p addonProvisioner) Create(ctx context.Context, name, engine, password string, out io.Writer) (deploy.AddonService, error) {
	s, err := p.addonBackend.Create(ctx, name, engine, password, out)
	return deploy.AddonService(s), err
}

func (p addonProvisioner) Status(ctx context.Context, name string) (deploy.AddonStatus, error) {
	st, err := p.addonBackend.Status(ctx, name)
	return deploy.AddonStatus{Version: st.Version, State: st.State, DiskBytes: st.DiskBytes}, err
}

// addonLines hands the services' output lines to the platform, which is
// made after the provisioner: lines before it exists are dropped.
type addonLines struct {
	svc atomic.Pointer[deploy.Service]
}

func (l *addonLines) Lines(name string, lines [][]byte) {
	if s := l.svc.Load(); s != nil {
		s.AddonLines(name, lines)
	}
}

// useAddons gives the platform configuration the backing services of b.
func useAddons(scfg *deploy.Config, b addonBackend, backupDir string, keep int) {
	scfg.Addons = addonProvisioner{b}
	scfg.AddonEngines = addons.Engines()
	scfg.AddonVar = addons.DefaultVar
	scfg.AddonURL = addons.URL
	scfg.AddonNextUser = addons.NextUser
	scfg.NewPassword = addons.NewPassword
	scfg.BackupDir = backupDir
	scfg.KeepBackups = keep
}
