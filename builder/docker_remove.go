package builder

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"
)

// removeDockerApp removes what the builder made in the engine for app:
// build containers left by a crash, every image tagged paas/APP:*, and
// the cache volume.
func (b *Builder) removeDockerApp(ctx context.Context, app string) error {
	ctrs, err := b.docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", labelApp+"="+app)),
	})
	if err != nil {
		return engineError("listing build containers", err)
	}
	for _, c := range ctrs {
		if role := c.Labels[labelRole]; role != "build" && role != "commit" {
			continue
		}
		if err := b.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
			return engineError("removing a build container", err)
		}
	}
	imgs, err := b.docker.ImageList(ctx, image.ListOptions{
		Filters: filters.NewArgs(filters.Arg("reference", "paas/"+app+":*")),
	})
	if err != nil {
		return engineError("listing images", err)
	}
	prefix := "paas/" + app + ":"
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			if !strings.HasPrefix(tag, prefix) {
				continue
			}
			if err := b.removeImage(ctx, tag); err != nil {
				return engineError("removing images", err)
			}
		}
	}
	if err := b.docker.VolumeRemove(ctx, cacheVolume(app), true); err != nil && !errdefs.IsNotFound(err) {
		return engineError(fmt.Sprintf("removing volume %s", cacheVolume(app)), err)
	}
	return nil
}
