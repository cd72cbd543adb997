package runtime

import (
	"context"
	"fmt"
	"regexp"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// LabelUser on an image names the numeric "uid:gid" its processes run
// as, and marks it as a buildpack app's image (the builder sets it): its
// containers run as that user with every capability dropped. Other images
// (a Dockerfile app's) run as their own USER with the capabilities no web
// app needs dropped.
const LabelUser = "paas.user"

// DefaultPidsLimit caps the processes and threads of one instance or
// one-off container when DockerConfig.PidsLimit is zero.
const DefaultPidsLimit = 512

// dockerfileCapDrop are the capabilities of the engine's default set that
// a container of an image without LabelUser loses: raw sockets, device
// nodes, chroot, audit records and setting file capabilities, which no web
// app needs. The rest (changing user, binding ports below 1024, owning
// files) stays, for images that start as root and change user, as nginx's
// does.
var dockerfileCapDrop = []string{"NET_RAW", "MKNOD", "SYS_CHROOT", "AUDIT_WRITE", "SETFCAP"}

// noNewPrivileges keeps every process of a container from gaining
// privileges through setuid or setgid binaries or file capabilities. An
// image that starts as root and changes user with setuid(2) (nginx, gosu)
// is unaffected; only gaining root from another user (su, sudo) fails.
const noNewPrivileges = "no-new-privileges"

// numericUser is a "uid:gid" pair.
var numericUser = regexp.MustCompile(`^[0-9]{1,9}:[0-9]{1,9}$`)

// imageProfile is what the runtime takes from an image before running
// it.
type imageProfile struct {
	// workDir is the image's working directory, or ContainerWorkDir.
	workDir string
	// user is the value of LabelUser, or "" when the image has none (or
	// not a numeric one): the image's own USER applies.
	user string
	// entrypoint is the image's own ENTRYPOINT; commands become its
	// arguments (see keepEntrypoint).
	entrypoint []string
}

// imageProfile inspects image ref.
func (d *Docker) imageProfile(ctx context.Context, ref string) (imageProfile, error) {
	return profileOf(ctx, d.api, ref)
}

// imageInspector is the engine call profileOf makes.
type imageInspector interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
}

// profileOf inspects image ref on the engine api.
func profileOf(ctx context.Context, api imageInspector, ref string) (imageProfile, error) {
	img, err := api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return imageProfile{}, fmt.Errorf("image %s not found: %w", ref, ErrArtifactMissing)
		}
		return imageProfile{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	p := imageProfile{workDir: ContainerWorkDir}
	if img.Config != nil {
		if img.Config.WorkingDir != "" {
			p.workDir = img.Config.WorkingDir
		}
		if u := img.Config.Labels[LabelUser]; numericUser.MatchString(u) {
			p.user = u
		}
		p.entrypoint = img.Config.Entrypoint
	}
	return p, nil
}

// limits are the runtime-wide defaults confine applies.
type limits struct {
	memory int64 // bytes for a container whose spec names none; 0: none
	pids   int64
}

// confine applies the confinement every container gets: no new
// privileges, a pids limit, the default memory limit when the spec set
// none; for an image with LabelUser, that user and no capabilities at
// all; for others, the image's own user without dockerfileCapDrop.
func confine(cfg *container.Config, hc *container.HostConfig, p imageProfile, lim limits) {
	hc.SecurityOpt = append(hc.SecurityOpt, noNewPrivileges)
	pids := lim.pids
	hc.PidsLimit = &pids
	if hc.Memory == 0 {
		hc.Memory = lim.memory
	}
	if p.user != "" {
		cfg.User = p.user
		hc.CapDrop = []string{"ALL"}
		return
	}
	hc.CapDrop = append([]string(nil), dockerfileCapDrop...)
}

// limits returns the runtime's limits.
func (d *Docker) limits() limits {
	l := limits{memory: d.cfg.DefaultMemory, pids: d.cfg.PidsLimit}
	if l.pids <= 0 {
		l.pids = DefaultPidsLimit
	}
	return l
}
