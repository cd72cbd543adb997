package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/docker/docker/api/types"
	buildtypes "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"paas"
)

// Labels the builder puts on what it makes in the engine.
const (
	labelApp          = "paas.app"
	labelBuild        = "paas.build"
	labelCommit       = "paas.commit"
	labelRole         = "paas.role"
	labelProcessTypes = "paas.process-types"
	// labelManaged marks the build network as paas's, as the runtime
	// marks its networks, so that paasd guards it again at start.
	labelManaged = "paas.managed"
	// labelUser on an image names the "uid:gid" its processes run as;
	// the runtime runs such an image as that user with no capabilities
	// (runtime.LabelUser).
	labelUser = "paas.user"
)

// DefaultStackImage is the image builds run on when Config.StackImage is
// empty.
const DefaultStackImage = "paas/stack:bookworm"

// DefaultBuildMemory limits a build container when Config.BuildMemory is
// zero.
const DefaultBuildMemory int64 = 2 << 30

// dockerAPI is the part of the Docker client the builder uses;
// *client.Client implements it.
type dockerAPI interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerKill(ctx context.Context, containerID, signal string) error
	ContainerPause(ctx context.Context, containerID string) error
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerAttach(ctx context.Context, containerID string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerExecCreate(ctx context.Context, containerID string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, config container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	CopyToContainer(ctx context.Context, containerID, dstPath string, content io.Reader, options container.CopyToContainerOptions) error
	ContainerCommit(ctx context.Context, containerID string, options container.CommitOptions) (container.CommitResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options buildtypes.ImageBuildOptions) (buildtypes.ImageBuildResponse, error)
	ImageInspect(ctx context.Context, imageID string, inspectOpts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error)
	VolumeInspect(ctx context.Context, volumeID string) (volume.Volume, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkInspect(ctx context.Context, networkID string, options network.InspectOptions) (network.Inspect, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
	Dialer() func(context.Context) (net.Conn, error)
}

var _ dockerAPI = (*client.Client)(nil)

// imageRef is the image of build n of app.
func imageRef(app string, n int) string { return fmt.Sprintf("paas/%s:b%d", app, n) }

// cacheVolume is the build cache volume of app.
func cacheVolume(app string) string { return "paas-cache-" + app }

// engineError turns an error of the engine into what the user is told:
// one readable line when the engine cannot be reached, else what doing
// said with the engine's reason.
func engineError(doing string, err error) error {
	if err == nil {
		return nil
	}
	var pe *paas.Error
	if errors.As(err, &pe) {
		return err
	}
	if client.IsErrConnectionFailed(err) || isConnectionError(err) {
		return &paas.Error{Msg: "docker engine unavailable: " + oneLine(err.Error()), Err: err}
	}
	return &paas.Error{Msg: doing + ": " + oneLine(err.Error()), Err: err}
}

// isConnectionError reports errors of a dropped engine connection that
// the client does not classify.
func isConnectionError(err error) bool {
	s := err.Error()
	for _, sub := range []string{"connection refused", "connection reset", "broken pipe", "EOF"} {
		if strings.Contains(s, sub) && !errdefs.IsNotFound(err) {
			return true
		}
	}
	return false
}

// oneLine joins the lines of s.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// memText formats a memory limit: "2.0 GiB", "32.0 MiB".
func memText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
