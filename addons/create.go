package addons

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"

	"paas"
	"paas/netguard"
)

// Create builds the engine's image when missing (output to out), makes the
// data volume and the container, starts it and waits until it accepts an
// authenticated query (postgres) or PING (redis) with password; it returns
// where the service is reached and its version. On failure it leaves
// nothing.
//
// The password never appears in the container's command or environment:
// it is written into the volume before the first start (postgres: a file
// initdb's script reads and removes; redis: its configuration file).
func (d *Docker) Create(ctx context.Context, name, engineName, password string, out io.Writer) (Service, error) {
	e, err := checkCreate(name, engineName, password)
	if err != nil {
		return Service{}, err
	}
	v, err := d.create(ctx, name, e, password, out)
	if err != nil {
		return Service{}, err
	}
	return Service{Version: v, Host: name, Port: e.port, User: e.firstUser}, nil
}

// create is Create of a service of engine e.
func (d *Docker) create(ctx context.Context, name string, e *engine, password string, out io.Writer) (version string, err error) {
	if _, err := d.api.VolumeInspect(ctx, volumeName(name)); err == nil {
		return "", paas.Errorf("add-on %s exists", name)
	} else if !cerrdefs.IsNotFound(err) {
		return "", engineError("inspecting volume "+volumeName(name), err)
	}
	ref, info, err := d.ensureImage(ctx, e, out)
	if err != nil {
		return "", err
	}
	idle, err := d.ensureIdleNetwork(ctx)
	if err != nil {
		return "", err
	}

	labels := d.labels(name, e)
	if _, err := d.api.VolumeCreate(ctx, volume.CreateOptions{Name: volumeName(name), Labels: labels}); err != nil {
		return "", engineError("creating volume "+volumeName(name), err)
	}
	var id string
	defer func() {
		if err != nil {
			d.remove(context.WithoutCancel(ctx), id, name)
		}
	}()
	cfg, hc := d.containerSpec(name, e, ref, info, idle)
	c, err := d.api.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{}, nil, containerName(name))
	if cerrdefs.IsConflict(err) {
		// Another service of that name is being made: its volume is
		// not ours to remove.
		id = ""
		return "", paas.Errorf("add-on %s exists", name)
	}
	if err != nil {
		return "", engineError("creating container "+containerName(name), err)
	}
	id = c.ID
	if err := d.api.CopyToContainer(ctx, id, dataDir, secretTar(e.secrets(password, NewPassword()), info.uid, info.gid),
		container.CopyToContainerOptions{}); err != nil {
		return "", engineError("writing the service's configuration", err)
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return "", engineError("starting "+containerName(name), err)
	}
	if err := d.waitReady(ctx, id, e, password); err != nil {
		return "", err
	}
	d.log.Info("add-on created", "addon", name, "engine", e.name, "version", info.version)
	return info.version, nil
}

// containerSpec is the configuration of service name's container, of
// engine e on image ref (whose labels are info), on network net.
func (d *Docker) containerSpec(name string, e *engine, ref string, info imageInfo, net string) (*container.Config, *container.HostConfig) {
	return &container.Config{
			Image:      ref,
			User:       strconv.Itoa(info.uid) + ":" + strconv.Itoa(info.gid),
			Labels:     d.labels(name, e),
			StopSignal: e.stopSignal,
			Hostname:   name,
		},
		&container.HostConfig{
			NetworkMode:   container.NetworkMode(net),
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: volumeName(name), Target: dataDir}},
			CapDrop:       []string{"ALL"},
			SecurityOpt:   []string{"no-new-privileges"},
			Resources: container.Resources{
				Memory:     d.cfg.Memory,
				MemorySwap: d.cfg.Memory,
				PidsLimit:  &d.cfg.PidsLimit,
			},
		}
}

// secretTar is a tar archive of files readable by their owner only,
// uid:gid (the engine's user).
func secretTar(files map[string][]byte, uid, gid int) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Writing to a bytes.Buffer does not fail.
	for name, data := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Uid: uid, Gid: gid, Size: int64(len(data)), ModTime: time.Now(), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
	}
	_ = tw.Close()
	return &buf
}

// waitReady waits until the service in container id answers e's ready
// command, failing when the container stops or readyTimeout passes.
func (d *Docker) waitReady(ctx context.Context, id string, e *engine, password string) error {
	return d.waitFor(ctx, id, e, func(ctx context.Context) bool {
		code, _, err := d.exec(ctx, id, e.user, e.readyEnv(password), e.ready)
		return err == nil && code == 0
	})
}

// waitFor polls ok until it holds for the service in container id,
// failing when the container stops or readyTimeout passes.
func (d *Docker) waitFor(ctx context.Context, id string, e *engine, ok func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		insp, err := d.api.ContainerInspect(ctx, id)
		if err != nil {
			return engineError("inspecting the service", err)
		}
		if insp.State == nil || !insp.State.Running || insp.State.Restarting {
			return fmt.Errorf("the %s service stopped while starting: %s", e.name, d.lastLines(context.WithoutCancel(ctx), id))
		}
		if ok(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the %s service did not become ready in %v: %s", e.name, readyTimeout, d.lastLines(context.WithoutCancel(ctx), id))
		case <-tick.C:
		}
	}
}

// exec runs cmd in container id as user with env added, and returns its
// exit code and output (stdout and stderr, at most 64 KiB).
func (d *Docker) exec(ctx context.Context, id, user string, env, cmd []string) (int, string, error) {
	x, err := d.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user, Env: env, Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, "", engineError("exec", err)
	}
	att, err := d.api.ContainerExecAttach(ctx, x.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, "", engineError("exec", err)
	}
	defer att.Close()
	var buf limitedBuffer
	buf.max = 64 << 10
	if _, err := stdcopy.StdCopy(&buf, &buf, att.Reader); err != nil {
		return -1, "", fmt.Errorf("exec: reading output: %w", err)
	}
	xi, err := d.api.ContainerExecInspect(ctx, x.ID)
	if err != nil {
		return -1, "", engineError("exec", err)
	}
	return xi.ExitCode, buf.String(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// lastLines returns the last lines of container id's output, on one line,
// for an error message.
func (d *Docker) lastLines(ctx context.Context, id string) string {
	rc, err := d.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "5"})
	if err != nil {
		return "(no output)"
	}
	defer rc.Close()
	var buf limitedBuffer
	buf.max = 4096
	_, _ = stdcopy.StdCopy(&buf, &buf, rc)
	s := strings.Join(strings.Fields(buf.String()), " ")
	if s == "" {
		return "(no output)"
	}
	return s
}

// ensureIdleNetwork returns idleNetwork, creating it when missing, with
// its bridge guarded (DockerConfig.Guard).
func (d *Docker) ensureIdleNetwork(ctx context.Context) (string, error) {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	n, err := d.api.NetworkInspect(ctx, idleNetwork, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		_, err = d.api.NetworkCreate(ctx, idleNetwork, network.CreateOptions{
			Driver:   network.NetworkBridge,
			Internal: true,
			Options: map[string]string{
				netguard.BridgeNameOption:              netguard.BridgeName(idleNetwork),
				"com.docker.network.bridge.enable_icc": "false",
			},
			Labels: map[string]string{labelManaged: "true"},
		})
		// A conflict means another paasd made it meanwhile: it exists.
		if err != nil && !cerrdefs.IsConflict(err) {
			return "", engineError("creating network "+idleNetwork, err)
		}
		n, err = d.api.NetworkInspect(ctx, idleNetwork, network.InspectOptions{})
	}
	if err != nil {
		return "", engineError("inspecting network "+idleNetwork, err)
	}
	if d.cfg.Guard != nil {
		if err := d.cfg.Guard.Protect(ctx, netguard.Interface(n)); err != nil {
			return "", fmt.Errorf("guarding network %s: %w", idleNetwork, err)
		}
	}
	return idleNetwork, nil
}

// remove removes container id (when not empty) and service name's volume,
// for a Create that failed.
func (d *Docker) remove(ctx context.Context, id, name string) {
	if id != "" {
		if err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			d.log.Warn("removing the container of a failed add-on", "addon", name, "err", err)
		}
	}
	// Not forced: a volume a container uses (a concurrent Create's of
	// the same name) stays.
	if err := d.api.VolumeRemove(ctx, volumeName(name), false); err != nil && !cerrdefs.IsNotFound(err) {
		d.log.Warn("removing the volume of a failed add-on", "addon", name, "err", err)
	}
}

// oneLine is s on one line, its spaces squeezed.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// stringReader is a reader of s.
func stringReader(s string) io.Reader { return strings.NewReader(s) }

// checkCreate checks what Create is asked for and returns the engine.
func checkCreate(name, engineName, password string) (*engine, error) {
	e, err := lookup(engineName)
	if err != nil {
		return nil, paas.Errorf("%v", err)
	}
	if err := paas.ValidateAppName(name); err != nil {
		return nil, paas.Errorf("invalid add-on name %q: use a lower-case letter followed by up to 29 lower-case letters, digits or dashes", name)
	}
	if !validPassword(password) {
		return nil, errors.New("add-on password: not one NewPassword makes")
	}
	return e, nil
}
