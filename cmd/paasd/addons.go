package main

import (
	"context"
	"io"

	"paas/addons"
	"paas/deploy"
)

// addonProvisioner gives deploy the backing services of package addons.
type addonProvisioner struct{ *addons.Docker }

func (p addonProvisioner) Create(ctx context.Context, name, engine, password string, out io.Writer) (string, error) {
	s, err := p.Docker.Create(ctx, name, engine, password, out)
	return s.Version, err
}

func (p addonProvisioner) Status(ctx context.Context, name string) (deploy.AddonStatus, error) {
	st, err := p.Docker.Status(ctx, name)
	return deploy.AddonStatus{Version: st.Version, State: st.State, DiskBytes: st.DiskBytes}, err
}

// addonURL is the URL of a service made by the first slice's records:
// reached at its name on the engine's port, as the engine's first user.
func addonURL(engine, name, password string) string {
	port := map[string]int{addons.Postgres: 5432, addons.Redis: 6379}[engine]
	user := map[string]string{addons.Postgres: "app", addons.Redis: "default"}[engine]
	return addons.URL(engine, user, password, name, port)
}
