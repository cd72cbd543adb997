package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"

	"paas/netguard"
	"paas/stack"
)

// buildPidsLimit caps the processes and threads of a build container.
const buildPidsLimit = 1024

// buildNetwork is the bridge network every build container is on: it
// reaches the internet (module proxies, package registries) but, guarded,
// not the host, and with inter-container traffic off, not another build.
// Its name cannot be an app's network ("paas-APP"): app names have no
// underscore.
const buildNetwork = "paas_build"

// labelCacheUser on a cache volume names the "uid:gid" whose builds wrote
// it; a volume without it (or of another user) is made afresh.
const labelCacheUser = "paas.cache-user"

// HostGuard keeps the containers on a bridge interface from reaching the
// host's own ports (netguard.Guard does).
type HostGuard interface {
	Protect(ctx context.Context, iface string) error
}

// buildUser returns the uid and gid build steps run as: the stack's
// unprivileged user when paasd is root (it gives that user the build's
// directories), else paasd's own user, which owns them already.
func buildUser() (uid, gid int) {
	if os.Geteuid() == 0 {
		return stack.UID, stack.GID
	}
	return os.Geteuid(), os.Getegid()
}

// giveTrees makes uid:gid the owner of everything under each dir, links
// themselves rather than their targets. Only paasd has written there yet.
func giveTrees(uid, gid int, dirs ...string) error {
	if uid == os.Geteuid() && gid == os.Getegid() {
		return nil
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return fmt.Errorf("giving the build its directories: %w", err)
		}
	}
	return nil
}

// ensureCacheVolume makes sure app's cache volume exists and was written
// only by builds of uid:gid. A volume of builds that ran as another user
// (root, before builds were unprivileged) holds files this user could not
// change: it is removed and made afresh, an empty cache.
func (b *Builder) ensureCacheVolume(ctx context.Context, app string, uid, gid int) error {
	name := cacheVolume(app)
	owner := fmt.Sprintf("%d:%d", uid, gid)
	v, err := b.docker.VolumeInspect(ctx, name)
	switch {
	case err == nil && v.Labels[labelCacheUser] == owner:
		return nil
	case err == nil:
		b.log.Info("build cache made by builds of another user: starting afresh", "app", app, "volume", name)
		if err := b.docker.VolumeRemove(ctx, name, true); err != nil && !errdefs.IsNotFound(err) {
			return engineError("replacing the build cache volume", err)
		}
	case !errdefs.IsNotFound(err):
		return engineError("inspecting the build cache volume", err)
	}
	labels := map[string]string{labelApp: app, labelRole: "cache", labelCacheUser: owner}
	if _, err := b.docker.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels}); err != nil {
		return engineError("creating the build cache volume", err)
	}
	return nil
}

// cacheSkeleton is a tar of the cache volume's directories owned by
// uid:gid, copied into a build container before it starts: the engine
// gives the volume's root and the two directories to the build user.
func cacheSkeleton(uid, gid int) *bytes.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, d := range []string{"cache/", "cache/cache/", "cache/home/"} {
		// Writing to a bytes.Buffer does not fail.
		_ = tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, Uid: uid, Gid: gid, ModTime: now, Format: tar.FormatPAX})
	}
	_ = tw.Close()
	return bytes.NewReader(buf.Bytes())
}

// ensureBuildNetwork returns the name of the build network, creating it
// when missing, with its bridge guarded (Config.Guard).
func (b *Builder) ensureBuildNetwork(ctx context.Context) (string, error) {
	b.netMu.Lock()
	defer b.netMu.Unlock()
	n, err := b.docker.NetworkInspect(ctx, buildNetwork, network.InspectOptions{})
	if errdefs.IsNotFound(err) {
		_, err = b.docker.NetworkCreate(ctx, buildNetwork, network.CreateOptions{
			Driver: network.NetworkBridge,
			Options: map[string]string{
				netguard.BridgeNameOption:              netguard.BridgeName(buildNetwork),
				"com.docker.network.bridge.enable_icc": "false",
			},
			Labels: map[string]string{labelManaged: "true", labelRole: "build"},
		})
		// A conflict means another paasd made it meanwhile: it exists.
		if err != nil && !errdefs.IsConflict(err) {
			return "", engineError("creating the build network", err)
		}
		n, err = b.docker.NetworkInspect(ctx, buildNetwork, network.InspectOptions{})
	}
	if err != nil {
		return "", engineError("inspecting the build network", err)
	}
	if b.cfg.Guard != nil {
		if err := b.cfg.Guard.Protect(ctx, netguard.Interface(n)); err != nil {
			return "", fmt.Errorf("guarding the build network: %w", err)
		}
	}
	return buildNetwork, nil
}
