package main

import (
	"context"

	"paas/addons"
	"paas/deploy"
)

// addonProvisioner gives deploy the backing services of package addons.
type addonProvisioner struct{ *addons.Docker }

func (p addonProvisioner) Status(ctx context.Context, name string) (deploy.AddonStatus, error) {
	st, err := p.Docker.Status(ctx, name)
	return deploy.AddonStatus{Version: st.Version, State: st.State, DiskBytes: st.DiskBytes}, err
}
